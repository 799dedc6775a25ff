"""Jinja2 environment and the one function routes use to render a page in the visitor's language."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from babel.numbers import format_currency
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from schutz.web.i18n import LANGUAGES, babel_locale, pick_language, translations
from schutz.web.staff_sections import SECTIONS, menu_for

TEMPLATE_DIR = Path(__file__).parent / "templates"


def money(amount: Decimal | float, currency: str, lang: str) -> str:
    """An amount as people of `lang` write it: 39.99 EUR is "€39.99" or "39,99 €"."""
    return format_currency(amount, currency, locale=babel_locale(lang))


def make_templates() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=select_autoescape(("html", "xml")),
        extensions=["jinja2.ext.i18n"],
    )
    env.policies["ext.i18n.trimmed"] = True
    env.filters["money"] = money
    env.globals["staff_sections"] = SECTIONS
    env.globals["staff_menu"] = menu_for
    return Jinja2Templates(env=env)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render `name` with gettext bound to the request's language; `lang` and links keep it."""
    lang = pick_language(request)
    trans = translations(lang)
    ctx: dict[str, Any] = {
        "lang": lang,
        "languages": LANGUAGES,
        "gettext": trans.gettext,
        "ngettext": trans.ngettext,
        "_": trans.gettext,
    }
    ctx.update(context or {})
    templates: Jinja2Templates = request.app.state.templates
    response: HTMLResponse = templates.TemplateResponse(request, name, ctx, status_code=status_code)
    response.headers["Content-Language"] = lang
    return response
