"""Translation catalogues and Babel locales, for the pages and for everything else that speaks.

The .po files under `schutz/locale` are the one source of every user-facing sentence in a
language other than English: the pages, the policy's Markdown and its records of processing
read them through `translations`. Compiled in memory from the .po files, so no stale .mo.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.core import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("en", "de")
DEFAULT_LANGUAGE = "en"


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark for extraction only"
    """Mark `message` for pybabel; it is translated where it is shown."""
    return message


@cache
def translations(lang: str) -> NullTranslations:
    """The catalogue for `lang`, compiled in memory from its .po file (no stale .mo files)."""
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT_LANGUAGE or not po.exists():
        return NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf)


@cache
def babel_locale(tag: str) -> Locale:
    """Babel's locale for `tag` (`de`, `en_GB`), parsed once: every format call given a
    string parses it again."""
    return Locale.parse(tag)
