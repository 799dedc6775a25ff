"""The newsletter, contact and paper-objection pages in Chromium: no JavaScript, no cookie
on the public pages, English and German; screenshots go to $SCHUTZ_SCREENSHOTS if set."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page
from sqlalchemy.orm import Session

from live import migrated_sqlite_url, uvicorn_serving
from outbox_mail import queued_mails
from schutz.clock import utcnow
from schutz.config import Settings
from schutz.db import make_engine, make_session_factory
from schutz.identity.service import add_staff
from schutz.worker import run_once

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("SCHUTZ_SCREENSHOTS")
STAFF, PASSWORD = "sam.support@shop.example", "a long enough secret"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, database URL) of a uvicorn serving the app."""
    data_dir = tmp_path_factory.mktemp("newsletter-live")
    database_url = migrated_sqlite_url(data_dir)
    engine = make_engine(database_url)
    with Session(engine) as session:
        add_staff(session, email=STAFF, role="support", password=PASSWORD, actor="t", now=utcnow())
        session.commit()
    engine.dispose()
    with uvicorn_serving(data_dir, database_url) as base:
        yield base, database_url


def shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def last_mail_link(database_url: str, path: str) -> str:
    data_dir = Path(database_url.removeprefix("sqlite:///")).parent
    engine = make_engine(database_url)  # the worker's pass: sign-ups are handled there
    run_once(make_session_factory(engine), Settings(data_dir=data_dir, database_url=database_url))
    engine.dispose()
    mail = queued_mails(database_url, data_dir)[-1]
    return next(w for w in mail.payload["body"].split() if path in w)


@pytest.mark.parametrize("lang", ["en", "de"])
def test_sign_up_confirm_unsubscribe_without_javascript_or_cookies(
    no_js_page: Page, server: tuple[str, str], lang: str
) -> None:
    base, database_url = server
    page = no_js_page
    page.goto(f"{base}/newsletter?lang={lang}")
    shot(page, f"newsletter-signup-{lang}")
    page.fill("#email", f"browser.{lang}@example.org")
    page.click("main button[type=submit]")
    assert page.locator("h1").inner_text() in (
        "Please check your inbox",
        "Bitte sehen Sie in Ihr Postfach",
    )
    shot(page, f"newsletter-check-inbox-{lang}")

    page.goto(last_mail_link(database_url, "/newsletter/confirm"))
    shot(page, f"newsletter-confirm-{lang}")
    page.click("main button[type=submit]")
    assert page.locator("h1").inner_text() in ("Subscription confirmed", "Anmeldung bestätigt")
    shot(page, f"newsletter-confirmed-{lang}")
    page.click("main a[href*='/newsletter/unsubscribe']")
    shot(page, f"newsletter-unsubscribe-{lang}")
    page.click("main button[type=submit]")
    assert page.locator("h1").inner_text() in ("You are unsubscribed", "Sie sind abgemeldet")
    shot(page, f"newsletter-unsubscribed-{lang}")

    page.goto(f"{base}/newsletter/confirm?token=forged&lang={lang}")
    shot(page, f"newsletter-bad-link-{lang}")
    page.goto(f"{base}/contact?lang={lang}")
    page.check("input[value=object_marketing]")
    page.fill("#email", "someone@example.org")
    shot(page, f"contact-{lang}")
    page.click("main button[type=submit]")
    shot(page, f"contact-sent-{lang}")
    assert page.context.cookies() == []


@pytest.mark.parametrize("lang", ["en", "de"])
def test_staff_enter_a_fax_objection_and_read_sent_mail(
    page: Page, server: tuple[str, str], lang: str
) -> None:
    base, database_url = server
    engine = make_engine(database_url)
    data_dir = Path(database_url.removeprefix("sqlite:///")).parent
    run_once(make_session_factory(engine), Settings(data_dir=data_dir, database_url=database_url))
    engine.dispose()
    page.goto(f"{base}/staff/login?lang={lang}")
    page.fill("#email", STAFF)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.goto(f"{base}/staff/objections?lang={lang}")
    page.fill("#email", "nobody.known@example.org")
    page.check("input[value=fax]")
    page.fill("#evidence", "FAX-2026-0117")
    page.click("form.stack button[type=submit]")
    assert page.locator(".flash.error").count() == 1
    shot(page, f"staff-objections-{lang}")
    page.goto(f"{base}/staff/mail?lang={lang}")
    shot(page, f"staff-mail-{lang}")
    page.click("table a")
    assert page.locator("pre.mail-body").count() == 1
    assert page.locator("pre a[href*='token=']").count() == 0  # staff never see a live token
    shot(page, f"staff-mail-message-{lang}")
