"""Driving headless Chromium through Playwright for a scan: before and after accepting."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Page, Request, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from schutz.scan.report import Phase, Seen

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Accept buttons we know: ours first, then common wording of other banners.
ACCEPT_SELECTORS = (
    "[data-consent-accept]",
    "button:text-matches('^(accept all|accept|allow all|agree|alle akzeptieren|akzeptieren"
    "|alle zulassen|einverstanden)$', 'i')",
)
SETTLE_MS = 500


def _settle(page: Page, timeout_ms: int) -> None:
    # A page that never goes quiet is judged on what it did so far.
    with suppress(PlaywrightError):
        page.wait_for_load_state("networkidle", timeout=timeout_ms)
    page.wait_for_timeout(SETTLE_MS)


def _names(context: BrowserContext) -> tuple[str, ...]:
    return tuple(sorted({c["name"] for c in context.cookies()}))


def _recorder(log: list[str]) -> Callable[[Request], None]:
    def record(request: Request) -> None:
        log.append(request.url)

    return record


def _click_accept(page: Page) -> bool:
    for selector in ACCEPT_SELECTORS:
        button = page.locator(selector).first
        if button.count() and button.is_visible():
            button.click()
            return True
    return False


def observe(
    urls: list[str],
    *,
    chromium: Path,
    offline: bool = False,
    timeout_ms: int = 15_000,
    allowed_hosts: frozenset[str] = frozenset(),
) -> tuple[list[Seen], dict[str, bool]]:
    """Visit each URL in a fresh profile, click "accept" if a banner offers it, look again.

    With `offline`, every host but the scanned ones and `allowed_hosts` (the Schutz instance
    an embedding page loads its script from) resolves to nothing: foreign requests are still
    seen (the browser tries them) but never reach the network.
    """
    args = list(CHROMIUM_ARGS)
    if offline:
        own = sorted({urlsplit(u).hostname or "" for u in urls} | allowed_hosts)
        excluded = " , ".join(f"EXCLUDE {h}" for h in own if h)
        args.append(f"--host-resolver-rules=MAP * ~NOTFOUND , {excluded}")
    seen: list[Seen] = []
    accepted: dict[str, bool] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=args)
        try:
            for url in urls:
                context = browser.new_context()
                requests: list[str] = []
                context.on("request", _recorder(requests))
                page = context.new_page()
                try:
                    page.goto(url, timeout=timeout_ms)
                except PlaywrightError as exc:
                    raise OSError(f"{url}: {str(exc).splitlines()[0]}") from None
                _settle(page, timeout_ms)
                seen.append(Seen(url, Phase.BEFORE, _names(context), tuple(requests)))
                requests.clear()
                accepted[url] = _click_accept(page)
                _settle(page, timeout_ms)
                try:
                    page.reload(timeout=timeout_ms)
                except PlaywrightError:
                    # The accept click may still be navigating (a form post and its
                    # redirect); load the page afresh instead.
                    page.goto(url, timeout=timeout_ms)
                _settle(page, timeout_ms)
                seen.append(Seen(url, Phase.AFTER, _names(context), tuple(requests)))
                context.close()
        finally:
            browser.close()
    return seen, accepted
