"""Browser-test fixtures: a real uvicorn server on 127.0.0.1 and Debian's Chromium.

`live_server` starts one `uvicorn` process per session on a free port, with its own data
directory and a migrated SQLite database, and yields its base URL. `page` is a fresh
Playwright page (own context: no cookies, no cache) in a headless Chromium that resolves
no host but 127.0.0.1, so a stray third-party request fails instead of leaving the machine.
Without /usr/bin/chromium the tests skip, except in CI (CI=true), where that is a failure.
`axe` checks the page for accessibility with axe-core from npm (tests/axe.py, installed by
scripts/venv.sh into tests/axe); without it the tests skip, and in CI fail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright

from axe import axe_violations
from live import chromium_launched, migrated_sqlite_url, require_mark, uvicorn_serving
from schutz.scan.browser import CHROMIUM_ARGS as SCAN_ARGS

# The scanner's flags, and a resolver that finds no host but ours.
CHROMIUM_ARGS = [
    *SCAN_ARGS,
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (http://127.0.0.1:PORT) of a real uvicorn serving Schutz for this session."""
    data_dir = tmp_path_factory.mktemp("live")
    with uvicorn_serving(data_dir, migrated_sqlite_url(data_dir)) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    """One headless Debian Chromium for the session, driven by Playwright."""
    require_mark("browser", "drives Chromium")
    with chromium_launched(playwright_driver, CHROMIUM_ARGS) as chromium:
        yield chromium


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh context: a first-time visitor with no cookies and no cache."""
    context = browser.new_context(locale="en-GB", java_script_enabled=True)
    new_page = context.new_page()
    yield new_page
    context.close()


@pytest.fixture
def no_js_page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh context with JavaScript switched off."""
    context = browser.new_context(locale="en-GB", java_script_enabled=False)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def axe() -> Callable[[Page], list[dict[str, Any]]]:
    """axe-core's violations on the page as it is now (tests/axe.py: fails in CI without it)."""
    return axe_violations
