"""Languages of the pages: Babel catalogues read from the .po files, chosen per request."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.core import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from starlette.requests import Request

LOCALE_DIR = Path(__file__).parent.parent / "locale"
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


def pick_language(request: Request) -> str:
    """`?lang=` wins; otherwise the first supported language in Accept-Language."""
    asked = request.query_params.get("lang", "")
    if asked in LANGUAGES:
        return asked
    header = request.headers.get("accept-language", "")
    for part in header.split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return DEFAULT_LANGUAGE
