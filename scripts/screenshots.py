"""Regenerate docs/screenshots/: the staff console, the privacy centre, the banner, public pages.

`make screenshots` runs this. It starts `schutz serve --demo` on a free port with a fresh
data directory, drives Debian's Chromium (never a downloaded browser) through Playwright,
and writes one PNG per page, language and width. `--url URL --password PW --data-dir DIR`
uses a demo server that is already running instead. Needs the `test` extra (Playwright).
"""

# ruff: noqa: T201, S603 - a command-line script that prints what it wrote and runs schutz
from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("SCHUTZ_CHROMIUM", "/usr/bin/chromium")
WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}
CUSTOMER = "erika.mustermann@example.org"
CONSOLE = {  # file name: path (signed in as the DPO)
    "console-dashboard": "/staff/",
    "console-requests": "/staff/requests",
    "console-audit": "/staff/audit",
}
PUBLIC = {
    "privacy": "/privacy",
    "request-form": "/requests/new",
    "contact": "/contact",
    "newsletter": "/newsletter",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def demo_server(data_dir: Path) -> Iterator[str]:
    """`schutz serve --demo` on a free port; yields its base URL once /healthz answers."""
    port = _free_port()
    argv = [sys.executable, "-m", "schutz", "serve", "--demo", "--port", str(port),
            "--data-dir", str(data_dir)]  # fmt: skip
    log = (data_dir.parent / "serve.log").open("wb")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])
        ),
    }
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if process.poll() is not None:
                log.close()
                sys.exit("the demo server stopped:\n" + Path(log.name).read_text()[-2000:])
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1):  # noqa: S310 - ours
                    break
            except OSError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def shoot(page: Page, name: str) -> None:
    page.wait_for_load_state("networkidle")
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"  {path.relative_to(ROOT)}")


def new_page(browser: Browser, width: str) -> Page:
    """A first-time visitor at `width` (no cookies, no cache)."""
    w, h = WIDTHS[width]
    context = browser.new_context(viewport={"width": w, "height": h}, device_scale_factor=1)
    return context.new_page()


def dismiss_banner(page: Page, base: str) -> None:
    """Choose in the cookie banner (reject all), so that later pictures show the page."""
    page.goto(f"{base}/privacy")
    button = page.locator("[data-consent-reject]").first
    if button.count() and button.is_visible():
        button.click()
        page.wait_for_load_state("networkidle")


def sign_in_staff(page: Page, base: str, password: str, email: str) -> None:
    page.goto(f"{base}/staff/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/staff/.*"))


def console(browser: Browser, base: str, password: str) -> None:
    for width in WIDTHS:
        page = new_page(browser, width)
        sign_in_staff(page, base, password, "dpo@demo.schutz.example")
        for lang in ("en", "de"):
            for name, path in CONSOLE.items():
                page.goto(f"{base}{path}?lang={lang}")
                shoot(page, f"{name}-{lang}-{width}")
        page.goto(f"{base}/staff/?lang=en")
        page.click("details.menu summary")
        shoot(page, f"console-menu-en-{width}")
        page.context.close()


def _account_link(data_dir: Path, since: float) -> str:
    for _ in range(300):
        for eml in sorted((data_dir / "outbox").glob("*.eml"), key=lambda p: p.stat().st_mtime):
            if eml.stat().st_mtime < since:
                continue
            text = message_from_bytes(eml.read_bytes(), policy=policy.default).get_body(
                preferencelist=("plain",)
            )
            found = re.search(
                r"https?://\S+/account/login\?token=\S+", text.get_content() if text else ""
            )
            if found:
                return found.group(0)
        time.sleep(0.1)
    sys.exit("no sign-in mail for the privacy centre arrived in the outbox")


def privacy_centre(browser: Browser, base: str, data_dir: Path) -> None:
    for width in WIDTHS:
        page = new_page(browser, width)
        dismiss_banner(page, base)
        since = time.time() - 1
        page.goto(f"{base}/account?lang=en")
        page.fill("input[name=email]", CUSTOMER)
        page.locator("form[action*='/account/login'] button[type=submit]").click()
        page.goto(_account_link(data_dir, since))
        page.locator("form[action*='/account/open'] button[type=submit]").click()
        page.wait_for_url(re.compile(r".*/account\?.*"))
        for lang in ("en", "de"):
            page.goto(f"{base}/account?lang={lang}")
            shoot(page, f"privacy-centre-{lang}-{width}")
        page.context.close()


def public(browser: Browser, base: str) -> None:
    for width in WIDTHS:
        page = new_page(browser, width)
        page.goto(f"{base}/privacy?lang=en")
        page.screenshot(path=str(OUT / f"banner-en-{width}.png"))  # the first screen only
        print(f"  docs/screenshots/banner-en-{width}.png")
        page.goto(f"{base}/privacy?lang=de")
        page.screenshot(path=str(OUT / f"banner-de-{width}.png"))
        print(f"  docs/screenshots/banner-de-{width}.png")
        dismiss_banner(page, base)
        for name, path in PUBLIC.items():
            for lang in ("en", "de"):
                page.goto(f"{base}{path}?lang={lang}")
                shoot(page, f"{name}-{lang}-{width}")
        page.context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running demo server (else one is started)")
    parser.add_argument("--password", help="its staff password (demo-credentials.json)")
    parser.add_argument("--data-dir", type=Path, help="its data directory (for the outbox)")
    parser.add_argument("--only", choices=("console", "centre", "public"), action="append")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM)
        if args.url:
            run(browser, args.url, args.password, args.data_dir, args.only)
        else:
            data_dir = Path(tmp) / "data"
            with demo_server(data_dir) as base:
                creds = json.loads((data_dir / "demo-credentials.json").read_text())
                run(browser, base, creds["staff_password"], data_dir, args.only)
        browser.close()


def run(browser: Browser, base: str, password: str, data_dir: Path, only: list[str] | None) -> None:
    parts = only or ["console", "centre", "public"]
    if "console" in parts:
        console(browser, base, password)
    if "centre" in parts:
        privacy_centre(browser, base, data_dir)
    if "public" in parts:
        public(browser, base)


if __name__ == "__main__":
    main()
