"""Every page a visitor can open carries the shared layout: a contact link (C12), the privacy
link and the language switch, and works without any cookie (C16)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from schutz.demo.app import create_demo_app
from webapp import TestClient, migrated_sqlite


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_demo_app(migrated_sqlite(tmp_path_factory.mktemp("layout"), demo=True))
    with TestClient(app, follow_redirects=False) as test_client:
        test_client.app_routes = app.routes  # type: ignore[attr-defined]
        yield test_client


def _routes(routes: list[object]) -> Iterator[object]:
    # FastAPI keeps included routers as wrappers; their routes sit on `original_router`,
    # with the router's prefix already in each route's path.
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes)
        else:
            yield route


def visitor_pages(client: TestClient) -> list[str]:
    """Every parameterless GET page outside the staff console and the API."""
    paths: list[str] = []
    for route in _routes(client.app_routes):  # type: ignore[attr-defined]
        path = getattr(route, "path", "")
        methods: set[str] = getattr(route, "methods", set()) or set()
        if (
            "GET" in methods
            and "{" not in path
            and not path.startswith(("/api/", "/staff", "/static", "/sdk/", "/.well-known"))
            and path
            not in (
                "/",
                "/healthz",
                "/readyz",
                "/privacy/feed.atom",
                "/requests/export.json",
                "/favicon.ico",
            )
        ):
            paths.append(path)
    return sorted(paths)


def test_the_walk_covers_the_pages_a_visitor_meets(client: TestClient) -> None:
    pages = set(visitor_pages(client))
    assert {"/privacy", "/contact", "/newsletter", "/cookies", "/account", "/shop"} <= pages


@pytest.mark.parametrize("lang", ["en", "de"])
def test_every_visitor_page_links_to_contact_and_privacy_without_setting_cookies(
    client: TestClient, lang: str
) -> None:
    problems = []
    for path in visitor_pages(client):
        answer = client.get(path, params={"lang": lang}, headers={"accept": "text/html"})
        if answer.is_redirect:
            continue  # e.g. an old address kept as a redirect; its target is walked itself
        kind = answer.headers.get("content-type", "")
        if answer.status_code >= 500 or "text/html" not in kind:
            problems.append(f"{path}: {answer.status_code} {kind}")
            continue
        page = answer.text
        if 'href="/contact' not in page or 'href="/privacy' not in page:
            problems.append(f"{path}: no contact or privacy link")
        if f'<html lang="{lang}"' not in page:
            problems.append(f"{path}: not in {lang}")
        if "set-cookie" in answer.headers:
            problems.append(f"{path}: sets a cookie on a first visit")
    assert problems == []
