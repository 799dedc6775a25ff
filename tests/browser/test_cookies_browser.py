"""In Chromium: a first visit sends nothing elsewhere and sets no cookie; accepting analytics
starts collection; withdrawing removes the analytics cookie; screenshots for review."""

from __future__ import annotations

import os
import random
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import func, select

from live import migrated_sqlite_url, uvicorn_serving, wait_for
from schutz.analytics.models import PageView
from schutz.analytics.service import page_view, store_page_views
from schutz.clock import utcnow
from schutz.db import make_engine, make_session_factory, transaction
from schutz.identity.service import add_staff, start_session

SHOTS = Path(os.environ.get("SCHUTZ_SCREENSHOTS") or Path(tempfile.gettempdir()) / "schutz-shots")
ESSENTIAL = {"schutz_consent", "schutz_session", "schutz_optout"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, database URL) of a uvicorn serving create_app."""
    data_dir = tmp_path_factory.mktemp("cookies-live")
    database_url = migrated_sqlite_url(data_dir)
    with uvicorn_serving(data_dir, database_url) as base:
        yield base, database_url


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - local
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _page_views(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            return int(session.scalar(select(func.count()).select_from(PageView)) or 0)
    finally:
        engine.dispose()


def test_a_first_visit_makes_no_foreign_request_and_sets_no_cookie(
    server: tuple[str, str], page: Page
) -> None:
    base, _db = server
    own = urlsplit(base).netloc
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    paths = ["/privacy", "/social-demo"] + [
        p for p in ("/newsletter", "/shop") if _status(base + p) == 200
    ]
    for path in paths:
        page.goto(base + path)
        page.wait_for_load_state("networkidle")

    assert hosts == {own}, f"requests to other hosts: {hosts - {own}}"
    names = {c["name"] for c in page.context.cookies()}
    assert names <= ESSENTIAL, names
    assert page.locator("#cookie-banner").is_visible()


def test_accepting_starts_collection_and_withdrawing_removes_the_cookie(
    server: tuple[str, str], page: Page
) -> None:
    base, database_url = server
    before = _page_views(database_url)
    page.goto(base + "/privacy")
    with page.expect_request(lambda r: r.url.endswith("/api/v1/collect")):
        page.get_by_role("button", name="Accept all").click()
    page.wait_for_timeout(100)
    assert not page.locator("#cookie-banner").count()
    page.goto(base + "/privacy/versions")  # the next page includes the tracker itself
    page.wait_for_load_state("networkidle")
    # The page-view batch is written within a flush interval.
    wait_for(lambda: _page_views(database_url) >= before + 2, "the page views to be stored")
    assert "schutz_vid" in {c["name"] for c in page.context.cookies()}

    page.goto(base + "/cookies")
    page.get_by_role("button", name="Reject all").click()
    page.wait_for_load_state("networkidle")

    names = {c["name"] for c in page.context.cookies()}
    assert "schutz_vid" not in names
    assert "schutz_consent" in names
    assert page.get_by_role("status").is_visible()


def test_the_banner_works_without_javascript(server: tuple[str, str], browser: Browser) -> None:
    base, _db = server
    context = browser.new_context(java_script_enabled=False, locale="de-DE")
    try:
        page = context.new_page()
        page.goto(base + "/privacy?lang=de")
        page.get_by_role("button", name="Alle ablehnen").click()
        assert page.url.endswith("/privacy?lang=de")
        assert not page.locator("#cookie-banner").count()
        assert {c["name"] for c in context.cookies()} == {"schutz_consent"}
    finally:
        context.close()


def test_the_banner_is_reachable_by_keyboard(server: tuple[str, str], page: Page) -> None:
    base, _db = server
    page.goto(base + "/privacy")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.closest('#cookie-banner') !== null")
    assert focused
    assert page.locator("#cookie-banner").get_attribute("aria-labelledby") == "cookie-banner-title"


_seeded: dict[str, str] = {}


def _seed_report(database_url: str) -> str:
    """A month of plausible page views, and a staff session token for the marketing role."""
    if database_url in _seeded:
        return _seeded[database_url]
    rng = random.Random(7)
    now = utcnow()
    paths = ["/", "/privacy", "/shop", "/shop/cl660hx", "/newsletter", "/contact", "/cookies"]
    referrers = [
        None,
        None,
        "https://www.google.de/",
        "https://www.heise.de/news/x",
        "https://t.co/",
    ]
    views = []
    for day in range(30):
        for visitor in range(rng.randint(20, 45)):
            vid = f"v{(visitor * 7 + day) % 60:021d}"
            start = now - timedelta(days=day, hours=rng.choice([8, 9, 10, 12, 14, 17, 19, 20, 21]))
            for n in range(rng.randint(1, 4)):
                views.append(
                    page_view(
                        path=rng.choice(paths),
                        referrer=rng.choice(referrers) if n == 0 else None,
                        ip="192.0.2.1",
                        visitor_id=vid,
                        now=start + timedelta(minutes=3 * n),
                    )
                )
    engine = make_engine(database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            store_page_views(session, [v for v in views if v is not None])
            user = add_staff(
                session, email="marketing@shop.example", role="marketing",
                password="a long enough secret", actor="cli", now=now,
            )  # fmt: skip
            _row, token = start_session(session, user, now=now)
    finally:
        engine.dispose()
    _seeded[database_url] = token
    return token


@pytest.mark.parametrize("lang", ["en", "de"])
def test_screenshots_of_banner_cookie_page_and_report(
    server: tuple[str, str], browser: Browser, lang: str
) -> None:
    base, database_url = server
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(
        locale="de-DE" if lang == "de" else "en-GB", viewport={"width": 1200, "height": 900}
    )
    try:
        page = context.new_page()
        page.goto(f"{base}/privacy?lang={lang}")
        page.screenshot(path=str(SHOTS / f"banner-{lang}.png"))
        page.goto(f"{base}/cookies?lang={lang}")
        page.screenshot(path=str(SHOTS / f"cookies-{lang}.png"), full_page=True)
        token = _seed_report(database_url)
        context.add_cookies([{"name": "schutz_session", "value": token, "url": base + "/staff"}])
        page.goto(f"{base}/staff/analytics?lang={lang}")
        assert page.locator("svg.chart").count() == 5
        page.screenshot(path=str(SHOTS / f"staff-analytics-{lang}.png"), full_page=True)
    finally:
        context.close()
    for name in ("banner", "cookies", "staff-analytics"):
        assert (SHOTS / f"{name}-{lang}.png").stat().st_size > 10_000
