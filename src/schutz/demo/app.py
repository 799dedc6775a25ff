"""The web app with the demo's routes: the shop under `/shop`, the sandbox under `/sandbox`."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from schutz.config import Settings
from schutz.demo import sandbox, shop
from schutz.web.app import create_app


def demo_routers() -> tuple[APIRouter, ...]:
    return (shop.router, sandbox.router)


def create_demo_app(settings: Settings | None = None) -> FastAPI:
    """`create_app` with the demo shop and the sandbox processors, in demo mode."""
    settings = (settings or Settings()).model_copy(update={"demo": True})
    return create_app(settings, extra_routers=demo_routers())
