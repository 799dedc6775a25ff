"""Fixtures for the embeddable script: a Schutz server, a shop on a second origin, Chromium.

`server` starts one real uvicorn serving Schutz on http://127.0.0.1:PORT with
`SCHUTZ_SITES` declaring the shop, and a tiny static server for examples/static-shop on
http://localhost:OTHER (another host and port: another origin, another cookie jar), whose
pages load the script from that Schutz. Chromium resolves no host but those two, so every
request to a third-party host fails, and Playwright still sees it leave.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack
from functools import partial
from http.server import ThreadingHTTPServer

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, Playwright

from live import chromium_launched, free_port, migrated_sqlite_url, uvicorn_serving
from schutz.config import Settings
from schutz.scan.browser import CHROMIUM_ARGS as SCAN_ARGS
from schutz.web.app import create_app
from static_shop import SHOP_DIR, Pair, ShopHandler
from webapp import TestClient, close_app

# The scanner's flags, and a resolver that finds no host but ours.
CHROMIUM_ARGS = [
    *SCAN_ARGS,
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
]


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    shop_port = free_port()
    shop = f"http://localhost:{shop_port}"
    data_dir = tmp_path_factory.mktemp("embed")
    url = migrated_sqlite_url(data_dir)
    with ExitStack() as stack:
        # The server process takes these from the environment when it starts; undone right
        # after, so that no later test of the session runs with the shop declared.
        env = pytest.MonkeyPatch()
        env.setenv("SCHUTZ_SITES", f"shop={shop}")
        env.setenv("SCHUTZ_RATE_LIMIT_VISITOR_CONSENTS", "600/60")
        try:
            base = stack.enter_context(uvicorn_serving(data_dir, url))
        finally:
            env.undo()
        handler = type("Handler", (ShopHandler,), {"schutz": base})
        httpd = ThreadingHTTPServer(
            ("127.0.0.1", shop_port), partial(handler, directory=str(SHOP_DIR))
        )
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield Pair(base, shop, data_dir, url)
        finally:
            httpd.shutdown()
            httpd.server_close()


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    with chromium_launched(playwright_driver, CHROMIUM_ARGS) as chromium:
        yield chromium


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A first-time visitor: fresh context, no cookies, no cache."""
    context = browser.new_context(locale="en-GB")
    new_page = context.new_page()
    yield new_page
    context.close()


SHOP_ORIGIN = "https://shop.example"


@pytest.fixture
def site_app(settings: Settings) -> Iterator[FastAPI]:
    """An app with the site `shop` declared on two origins (in-process, no server)."""
    sites = f"shop={SHOP_ORIGIN},https://www.shop.example"
    app = create_app(settings.model_copy(update={"sites": sites}))
    yield app
    close_app(app)


@pytest.fixture
def web(site_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(site_app) as client:
        yield client
