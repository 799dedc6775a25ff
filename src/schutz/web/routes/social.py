"""A product page that shows the social components: share links and two-click embeds.

The page itself makes no request to Facebook or X (C20-C22). Its Content-Security-Policy
adds `frame-src` for the embed hosts only, so that an embed the visitor chose to load can
appear; nothing is framed before that click.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from schutz.policy.schema import Embed
from schutz.web.deps import PolicyDep, SettingsDep
from schutz.web.routes.analytics import visitor_choices
from schutz.web.security import CSP
from schutz.web.templating import render

router = APIRouter(include_in_schema=False)

# What each embed loads once allowed: the URL of its iframe and a title for it.
EMBED_SOURCES = {
    "facebook": (
        "https://www.facebook.com/plugins/page.php?href=https%3A%2F%2Fwww.facebook.com%2Fgigaset"
        "&tabs=timeline&width=500&height=420",
        "Gigaset on Facebook",
    ),
    "twitter": ("https://platform.twitter.com/embed/Tweet.html?id=20", "Gigaset on X"),
}


@dataclass(frozen=True)
class ShownEmbed:
    key: str
    embed: Embed
    src: str
    title: str


def frame_origins(sources: dict[str, tuple[str, str]]) -> str:
    return " ".join(sorted({"/".join(src.split("/", 3)[:3]) for src, _ in sources.values()}))


@dataclass(frozen=True)
class Product:
    name: str


@router.get("/social-demo")
def social_demo(request: Request, policy: PolicyDep, settings: SettingsDep) -> Response:
    """Example product page with share links and two-click embeds."""
    embeds = [
        ShownEmbed(key, policy.embeds[key], *EMBED_SOURCES[key])
        for key in EMBED_SOURCES
        if key in policy.embeds
    ]
    choices = visitor_choices(request)
    response = render(
        request,
        "components/social_demo.html",
        {
            "product": Product("Gigaset CL660HX"),
            "page_url": f"{settings.base_url.rstrip('/')}/social-demo",
            "embeds": embeds,
            # Consent per service: a click on Facebook's placeholder loads Facebook alone.
            "allowed": {
                e.key: choices is not None and choices.allows_service(e.key, "embeds")
                for e in embeds
            },
        },
    )
    response.headers["Content-Security-Policy"] = f"{CSP}; frame-src {frame_origins(EMBED_SOURCES)}"
    return response
