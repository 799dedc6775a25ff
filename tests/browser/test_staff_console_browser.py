"""The staff console as staff use it (issue 17, defects 8 and 9): the demo server, Chromium,
and axe-core on every console page in English and German at desktop and phone width."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from axe import axe_violations, describe_violations
from live import free_port, stop, wait_for, wait_until_healthy

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
DPO = "dpo@demo.schutz.example"


@dataclass(frozen=True)
class Demo:
    url: str
    password: str
    data_dir: Path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`schutz serve --demo` as the README starts it, on a free port with its own data."""
    data_dir = tmp_path_factory.mktemp("console") / "data"
    port = free_port()
    log = data_dir.parent / "serve.log"
    argv = [sys.executable, "-m", "schutz", "serve", "--demo", "--port", str(port),
            "--data-dir", str(data_dir)]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, process, log)
        creds = json.loads((data_dir / "demo-credentials.json").read_text())
        yield Demo(url, creds["staff_password"], data_dir)
    finally:
        stop(process)


def staff_page(browser: Browser, demo: Demo, viewport: ViewportSize, email: str = DPO) -> Page:
    page = browser.new_context(viewport=viewport, locale="en-GB").new_page()
    page.goto(f"{demo.url}/staff/login")
    page.fill("#email", email)
    page.fill("#password", demo.password)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Dashboard")
    return page


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("email", [DPO, "admin@demo.schutz.example"])
def test_the_top_bar_stays_one_row_and_the_menu_holds_every_section(
    browser: Browser, demo: Demo, viewport: ViewportSize, email: str
) -> None:
    page = staff_page(browser, demo, viewport, email)
    bar = page.locator("header.console-bar")
    box = bar.bounding_box()
    assert box is not None
    assert box["height"] < 64, box  # one row, not three
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    page.click("details.menu summary")
    menu = page.locator("details.menu nav")
    expect(menu.get_by_role("link", name="Audit log")).to_be_visible()
    expect(menu.get_by_role("link", name="Requests")).to_be_visible()
    menu.get_by_role("link", name="Audit log").click()
    expect(page.locator("h1")).to_have_text("Audit log")
    page.context.close()


def test_the_dashboard_counts_what_needs_attention(browser: Browser, demo: Demo) -> None:
    page = staff_page(browser, demo, DESKTOP)
    tiles = page.locator(".tiles")
    expect(tiles).to_contain_text("Open requests")
    expect(tiles).to_contain_text("Failed deliveries")
    expect(tiles).to_contain_text("Flagged audit entries")
    overdue = tiles.get_by_role("link", name="Overdue requests")
    expect(overdue.locator(".count")).to_have_text("1")  # the demo's erasure, 40 days old
    expect(page.locator(".attention")).to_contain_text("Erasure request")
    overdue.click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody")).to_contain_text("Erasure")
    page.context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_audit_log_reads_as_sentences_inside_the_page(
    browser: Browser, demo: Demo, viewport: ViewportSize
) -> None:
    page = staff_page(browser, demo, viewport)
    page.goto(f"{demo.url}/staff/audit?lang=en")
    region = page.get_by_role("region", name="Audit entries, newest first")
    widths = region.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert widths[0] <= widths[1], widths  # no sideways scrolling for the log
    table = region.locator("table")
    expect(table).to_contain_text(f"You ({DPO}) signed in to the staff console")
    expect(table).to_contain_text("read a customer's data for “Legal obligations”")
    shown = table.inner_text()  # what the reader sees, with every JSON toggle closed
    assert "staff:" not in shown
    assert "legal_obligation" not in shown
    toggle = table.locator("details").first
    toggle.locator("summary").click()
    expect(toggle.locator("pre")).to_contain_text('"action": "staff.login"')
    page.context.close()


def test_german_staff_see_kinds_and_channels_in_german(browser: Browser, demo: Demo) -> None:
    page = staff_page(browser, demo, DESKTOP)
    page.goto(f"{demo.url}/staff/requests?lang=de")
    body = page.locator("tbody")
    expect(body).to_contain_text("Löschung")
    expect(body).to_contain_text("Berichtigung")
    expect(body).to_contain_text("Webformular")
    for english in ("erasure", "rectification", "web"):
        expect(body).not_to_contain_text(english)
    page.context.close()


def test_a_bad_address_on_the_paper_form_keeps_what_was_typed(browser: Browser, demo: Demo) -> None:
    page = staff_page(browser, demo, DESKTOP, "support@demo.schutz.example")
    page.goto(f"{demo.url}/staff/requests/new?lang=en")
    page.select_option("#kind", "erasure")
    page.select_option("#channel", "fax")
    page.fill("#email", "a@b")
    page.fill("#details", "Letter of 3 March, scan 2041.")
    page.click("main button[type=submit]")
    email = page.locator("#email")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#email-error")).to_contain_text("not a valid e-mail address")
    expect(email).to_have_value("a@b")
    expect(page.locator("#details")).to_have_value("Letter of 3 March, scan 2041.")
    expect(page.locator("#channel")).to_have_value("fax")
    assert page.locator("main a[href^='/privacy']").count() == 0
    # Corrected, the request is entered and the page says so in words.
    page.fill("#email", "max.schmidt@example.org")
    page.click("main button[type=submit]")
    expect(page.get_by_role("status")).to_contain_text("The request is entered. Its deadline is")
    expect(page.locator("dl.facts")).to_contain_text("Fax")
    page.context.close()


def test_a_sent_mail_has_a_heading(browser: Browser, demo: Demo) -> None:
    page = staff_page(browser, demo, DESKTOP, "support@demo.schutz.example")
    page.goto(f"{demo.url}/requests/new?lang=en")  # a mail goes out for any request
    page.goto(f"{demo.url}/staff/requests/new?lang=en")
    page.fill("#email", "jane.doe@example.org")
    page.click("main button[type=submit]")
    outbox = demo.data_dir / "outbox"
    wait_for(lambda: any(outbox.glob("*.eml")), "a mail in the outbox")
    page.goto(f"{demo.url}/staff/mail?lang=en")
    page.locator("tbody a").first.click()
    expect(page.locator("h1")).not_to_be_empty()
    assert page.locator("h1").count() == 1
    page.context.close()


CONSOLE_PAGES = [
    "/staff/",
    "/staff/requests",
    "/staff/requests?overdue=true",
    "/staff/requests/new",
    "/staff/objections",
    "/staff/disclosures",
    "/staff/analytics",
    "/staff/mail",
    "/staff/records",
    "/staff/audit",
    "/staff/audit?flagged=true",
]


def _check(page: Page, where: str) -> None:
    violations = axe_violations(page)
    assert not violations, describe_violations(where, violations)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("lang", ["en", "de"])
def test_axe_finds_nothing_on_any_console_page(
    browser: Browser, demo: Demo, lang: str, viewport: ViewportSize
) -> None:
    anonymous = browser.new_context(viewport=viewport).new_page()
    anonymous.goto(f"{demo.url}/staff/login?lang={lang}")
    _check(anonymous, f"login {lang}")
    anonymous.fill("#email", DPO)
    anonymous.fill("#password", "wrong password")
    anonymous.click("button[type=submit]")
    expect(anonymous.get_by_role("alert")).to_be_visible()
    _check(anonymous, f"login error {lang}")
    anonymous.context.close()

    page = staff_page(browser, demo, viewport)
    for path in CONSOLE_PAGES:
        page.goto(f"{demo.url}{path}{'&' if '?' in path else '?'}lang={lang}")
        _check(page, f"{path} {lang}")
    page.click("details.menu summary")
    _check(page, f"open menu {lang}")
    page.goto(f"{demo.url}/staff/requests?lang={lang}")
    page.locator("tbody a").first.click()
    _check(page, f"request detail {lang}")
    page.goto(f"{demo.url}/staff/requests/new?lang={lang}")
    page.fill("#email", "a@b")
    page.click("main button[type=submit]")
    expect(page.locator("#email-error")).to_be_visible()
    _check(page, f"paper form error {lang}")
    page.goto(f"{demo.url}/staff/mail?lang={lang}")
    if page.locator("tbody a").count():
        page.locator("tbody a").first.click()
        _check(page, f"mail message {lang}")
    page.context.close()
