"""The German catalogue covers every string the templates and the code mark for translation."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from schutz.web.i18n import LOCALE_DIR

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "schutz"
PO = LOCALE_DIR / "de" / "LC_MESSAGES" / "messages.po"
JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "trimmed": "true"}
METHODS = [
    ("web/templates/**.html", "jinja2"),
    ("web/templates/**.xml", "jinja2"),
    ("**.py", "python"),
]


def extracted_ids() -> set[str]:
    """Every msgid in src/schutz, found the way scripts/i18n.sh (babel.cfg) finds them."""
    ids = set()
    options = {"web/templates/**.html": JINJA_OPTIONS, "web/templates/**.xml": JINJA_OPTIONS}
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(SRC), METHODS, options_map=options
    ):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def german() -> Catalog:
    with PO.open("rb") as fh:
        return read_po(fh, locale="de")


def test_every_extracted_string_has_a_german_translation() -> None:
    catalog = german()
    missing = []
    for msgid in sorted(extracted_ids()):
        message = catalog.get(msgid)
        strings = (
            []
            if message is None
            else (list(message.string) if isinstance(message.string, tuple) else [message.string])
        )
        if message is None or message.fuzzy or not all(strings):
            missing.append(msgid)
    assert missing == [], "untranslated or fuzzy; run scripts/i18n.sh and translate"


def test_extraction_finds_the_policy_page_strings() -> None:
    ids = extracted_ids()

    assert "We never sell your personal data, and we do not market it in any other way." in ids
    assert "until the browser closes" in ids  # marked with N_ in policy_pages.py


def test_catalogue_is_sorted_so_that_merges_stay_simple() -> None:
    ids = [m.id if isinstance(m.id, str) else m.id[0] for m in german() if m.id]

    assert ids == sorted(ids)


def test_translations_keep_their_placeholders() -> None:
    for message in german():
        if not message.id or not message.string:
            continue
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        targets = message.string if isinstance(message.string, tuple) else (message.string,)
        for target in targets:
            for placeholder in _placeholders(str(sources[-1])):
                assert placeholder in target, f"{placeholder} lost in {message.id!r}"


def _placeholders(text: str) -> set[str]:
    import re

    return set(re.findall(r"%\([a-z_0-9]+\)s", text))


@pytest.mark.parametrize(
    ("duration", "english", "german_text"),
    [
        ("P2Y", "2 years", "2 Jahre"),
        ("P13M", "13 months", "13 Monate"),
        ("P1Y", "1 year", "1 Jahr"),
    ],
)
def test_durations_read_as_words(duration: str, english: str, german_text: str) -> None:
    from schutz.web.i18n import translations
    from schutz.web.routes.policy_pages import PolicyFormat

    assert PolicyFormat("en", translations("en").gettext).duration(duration) == english
    assert PolicyFormat("de", translations("de").gettext).duration(duration) == german_text
    assert PolicyFormat("de", translations("de").gettext).duration("session") == (
        "bis zum Schließen des Browsers"
    )


def test_po_file_parses_without_warnings() -> None:
    read_po(io.BytesIO(PO.read_bytes()), locale="de", abort_invalid=True)
