"""Languages of the pages: the catalogues of `schutz.i18n`, chosen per request."""

from __future__ import annotations

from starlette.requests import Request

from schutz.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    LOCALE_DIR,
    N_,
    babel_locale,
    translations,
)

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LOCALE_DIR",
    "N_",
    "babel_locale",
    "pick_language",
    "translations",
]


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
