"""Fixtures for the embeddable script: a Schutz server, a shop on a second origin, Chromium.

`server` starts one real uvicorn serving Schutz on http://127.0.0.1:PORT with
`SCHUTZ_SITES` declaring the shop, and a tiny static server for examples/static-shop on
http://localhost:OTHER (another host and port: another origin, another cookie jar), whose
pages load the script from that Schutz. Chromium resolves no host but those two, so every
request to a third-party host fails, and Playwright still sees it leave.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright

from live import free_port, migrated_sqlite_url, uvicorn_serving
from schutz.scan.browser import CHROMIUM_ARGS as SCAN_ARGS
from static_shop import SHOP_DIR, Pair, ShopHandler

CHROMIUM = Path(os.environ.get("SCHUTZ_CHROMIUM", "/usr/bin/chromium"))
# The scanner's flags, and a resolver that finds no host but ours.
CHROMIUM_ARGS = [
    *SCAN_ARGS,
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
]
IN_CI = os.environ.get("CI", "").lower() == "true"


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
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM}"
        if IN_CI:
            pytest.fail(f"{message}; browser tests are required in CI")
        pytest.skip(message)
    chromium = playwright_driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A first-time visitor: fresh context, no cookies, no cache."""
    context = browser.new_context(locale="en-GB")
    new_page = context.new_page()
    yield new_page
    context.close()
