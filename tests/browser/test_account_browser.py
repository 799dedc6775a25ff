"""The request form, the privacy centre, the export and the staff queue in Chromium, in
English and German, with JavaScript off (every form must work without it).

Screenshots land in the test's temporary directory and, when SCHUTZ_SCREENSHOTS is set, in
that directory too, so that a person can look at them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Page

from live import free_port, uvicorn_serving
from schutz import worker
from schutz.clock import utcnow
from schutz.config import BUNDLED_POLICY_DIR, Settings
from schutz.db import make_engine, make_session_factory, migrate, transaction
from schutz.identity.service import add_staff
from schutz.policy.loader import load_policy_set
from schutz.subject_requests import service
from schutz.subject_requests.models import DataRequest
from schutz.subject_requests.tokens import Links
from schutz.vault import service as vault
from schutz.vault.keys import load_keyring
from subject_requests.builders import ADA
from webapp import delivered_to, token_in

pytestmark = pytest.mark.browser

STAFF_PASSWORD = "a long enough secret"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    """A live uvicorn with the request routers, a customer, a DPO and an overdue request."""
    data_dir = tmp_path_factory.mktemp("requests-live")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = Settings(
        data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'schutz.db'}", base_url=base_url
    )
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    rules = load_policy_set(BUNDLED_POLICY_DIR).engine("2026-11")
    keyring = load_keyring(settings)
    now = utcnow()
    with transaction(make_session_factory(engine)) as session:
        vault.intake(
            session, rules, keyring, source="registration",
            purposes=["information_access", "direct_marketing"], data=ADA,
            asserted_by="shop",
            actor="test", now=now,
        )  # fmt: skip
        add_staff(
            session, email="dora.dpo@shop.example", role="dpo", password=STAFF_PASSWORD,
            actor="cli", now=now,
        )  # fmt: skip
        made = service.submit(
            session, rules, keyring, Links(base_url, b"x"), kind="erasure",
            email="someone@example.org", channel="fax", actor="test", now=now,
        )  # fmt: skip
        late = session.get(DataRequest, made.request_id)
        assert late is not None
        late.due_at = now - timedelta(days=3)
    engine.dispose()
    with uvicorn_serving(data_dir, settings.resolved_database_url, port=port) as served:
        yield served, settings


def _shot(page: Page, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    keep = os.environ.get("SCHUTZ_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)


def _last_link(settings: Settings, path: str) -> str:
    sessions = make_session_factory(make_engine(settings.resolved_database_url))
    worker.run_once(sessions, settings)
    _, body = delivered_to(settings, ADA["email"])[-1]
    return f"{settings.base_url}{path}?token={quote(token_in(body, path))}"


@pytest.mark.parametrize("lang", ["en", "de"])
def test_the_request_form_works_without_javascript(
    server: tuple[str, Settings], no_js_page: Page, tmp_path: Path, lang: str
) -> None:
    base_url, _ = server
    no_js_page.goto(f"{base_url}/requests/new?lang={lang}")
    _shot(no_js_page, tmp_path, f"requests-new-{lang}")
    heading = {"en": "Your data protection rights", "de": "Ihre Datenschutzrechte"}[lang]
    assert no_js_page.locator("h1").inner_text() == heading

    no_js_page.select_option("#kind", "access")
    no_js_page.fill("#email", "nobody@example.org")
    no_js_page.locator("form.stack button[type=submit]").click()

    done = {"en": "Please check your inbox", "de": "Bitte sehen Sie in Ihr Postfach"}
    assert no_js_page.locator("h1").inner_text() == done[lang]
    assert no_js_page.context.cookies() == []


@pytest.mark.parametrize("lang", ["en", "de"])
def test_the_privacy_centre_by_magic_link(
    server: tuple[str, Settings], no_js_page: Page, tmp_path: Path, lang: str
) -> None:
    base_url, settings = server
    page = no_js_page
    page.goto(f"{base_url}/account?lang={lang}")
    _shot(page, tmp_path, f"account-login-{lang}")
    page.fill("#email", ADA["email"])
    page.locator("form.stack button[type=submit]").click()

    page.goto(_last_link(settings, "/account/login") + f"&lang={lang}")
    page.locator("form.stack button[type=submit]").click()

    assert page.url.startswith(f"{base_url}/account")
    assert "Düsseldorf" in page.content()
    cookies = page.context.cookies()
    assert [c["name"] for c in cookies] == ["schutz_account"]
    assert cookies[0]["httpOnly"]
    _shot(page, tmp_path, f"account-centre-{lang}")

    label = {"en": "Object", "de": "Widersprechen"}[lang]
    page.get_by_role("button", name=label, exact=True).first.click()
    assert "done=consent" in page.url

    show = {"en": "Show my data as a page", "de": "Meine Daten als Seite anzeigen"}[lang]
    page.get_by_role("button", name=show).click()
    assert "/account/export" in page.url
    assert "Ada Lovelace" in page.content()
    _shot(page, tmp_path, f"export-{lang}")


@pytest.mark.parametrize("lang", ["en", "de"])
def test_the_staff_queue_shows_overdue_requests(
    server: tuple[str, Settings], no_js_page: Page, tmp_path: Path, lang: str
) -> None:
    base_url, _ = server
    page = no_js_page
    page.goto(f"{base_url}/staff/login?lang={lang}")
    page.fill("input[name=email]", "dora.dpo@shop.example")
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.locator("form button[type=submit]").click()

    page.goto(f"{base_url}/staff/requests?lang={lang}")
    overdue = {"en": "overdue", "de": "überfällig"}[lang]
    assert page.locator(".badge.warn", has_text=overdue).count() >= 1
    _shot(page, tmp_path, f"staff-requests-{lang}")
    page.locator("td a").first.click()
    _shot(page, tmp_path, f"staff-request-detail-{lang}")
    page.goto(f"{base_url}/staff/records?lang={lang}")
    _shot(page, tmp_path, f"staff-records-{lang}")
