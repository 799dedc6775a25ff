"""The public site's visitor for browser tests: Ada registered with an order, her mails,
her sign-in to the privacy centre by the mailed link, and the requests on record.

A plain module (tests/ is on sys.path), shared by tests/browser/test_public_*.py.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import Page
from sqlalchemy import func, select

from disclosures.demo_server import DemoServer
from live import wait_for
from schutz.config import Settings
from schutz.db import make_engine, make_session_factory
from schutz.subject_requests.models import DataRequest
from webapp import delivered_to, token_in

ADA = {
    "email": "ada.lovelace@example.org",
    "name": "Ada Lovelace",
    "postal_address": {
        "street": "Hansaallee 299", "postal_code": "40549", "city": "Düsseldorf", "country": "DE",
    },
}  # fmt: skip
ADA_ORDER = "GS-ADA0000001"


def api(server: DemoServer, path: str, body: dict[str, object]) -> dict[str, object]:
    """POST `body` to the API with the shop's key; the test fails on an error answer."""
    request = urllib.request.Request(  # noqa: S310 - our own test server
        server.base_url + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {server.shop_key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            found: dict[str, object] = json.loads(answer.read())
            return found
    except urllib.error.HTTPError as exc:
        pytest.fail(f"{path} answered {exc.code}: {exc.read().decode()}")


def register_ada(server: DemoServer) -> None:
    """Ada as a registered customer with one order, whose data went to the processors."""
    made = api(server, "/api/v1/subjects", {
        "source": "registration", "purposes": ["information_access", "direct_marketing"],
        "data": ADA,
    })  # fmt: skip
    api(server, "/api/v1/subjects", {
        "source": "order", "purposes": ["order_processing", "billing"],
        "data": {"email": ADA["email"], "name": ADA["name"]},
    })  # fmt: skip
    api(server, "/api/v1/orders", {
        "subject_id": made["subject_id"], "order_ref": ADA_ORDER,
        "items": [{"sku": "CL390", "name": "Gigaset CL390", "quantity": 1, "unit_price": "39.99"}],
        "total": "44.98", "currency": "EUR",
        "payment": {"method": "card", "reference": "PAY-1"},
        "delivery_address": ADA["postal_address"],
    })  # fmt: skip


def mails_to(server: DemoServer, address: str) -> list[tuple[str, str]]:
    """(subject, body) of each mail the server's worker has delivered to `address`."""
    return delivered_to(Settings(data_dir=server.data_dir, base_url=server.base_url), address)


def count_requests(server: DemoServer, kind: str) -> int:
    """How many data-subject requests of `kind` the server has on record."""
    engine = make_engine(f"sqlite:///{server.data_dir / 'schutz.db'}")
    try:
        with make_session_factory(engine)() as session:
            query = select(func.count()).select_from(DataRequest).where(DataRequest.kind == kind)
            return int(session.scalar(query) or 0)
    finally:
        engine.dispose()


def sign_in(page: Page, server: DemoServer, lang: str = "en") -> None:
    """Ask for a link on /account, open the mailed link, press the button."""
    address = str(ADA["email"])
    before = len(mails_to(server, address))
    page.goto(f"{server.base_url}/account?lang={lang}")
    page.fill("#email", address)
    page.locator("main form button[type=submit]").click()
    wait_for(lambda: len(mails_to(server, address)) > before, "the sign-in mail")
    _, body = mails_to(server, address)[-1]
    token = token_in(body, "/account/login")
    page.goto(f"{server.base_url}/account/login?token={token}&lang={lang}")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/account?**")
