"""`/favicon.ico`: the small shield browsers ask for on every site, served with caching."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter
from starlette.responses import Response

router = APIRouter(include_in_schema=False)

ICON = Path(__file__).resolve().parent.parent / "static" / "favicon.ico"
CACHE = "public, max-age=604800"
"""A week: the icon changes with a release at most, and browsers ask for it on every page."""


@cache
def _icon() -> bytes:
    return ICON.read_bytes()


@router.get("/favicon.ico")
def favicon() -> Response:
    return Response(_icon(), media_type="image/x-icon", headers={"Cache-Control": CACHE})
