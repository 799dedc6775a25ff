"""Page views and events from an embedding site: consent from the ledger, campaign
parameters from an allow-list, per-site reports on the staff page and as CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from schutz.analytics.campaigns import clean_utm
from schutz.analytics.events import clean_props
from schutz.analytics.models import AnalyticsEvent, PageView
from schutz.clock import utcnow
from schutz.cookies.choices import new_visitor_id
from schutz.db import transaction
from schutz.identity.service import add_staff, start_session
from schutz.web.auth import SESSION_COOKIE
from webapp import TestClient

SHOP = "https://shop.example"
ORIGIN = {"Origin": SHOP}


def agree(web: TestClient, analytics: bool) -> str:
    reg = web.get("/api/v1/sites/shop/registry", headers=ORIGIN).json()
    visitor = new_visitor_id()
    body = {"site": "shop", "visitor": visitor, "version": reg["version"],
            "wording_hash": reg["wording_hash"], "lang": "en",
            "categories": {"analytics": analytics, "embeds": False}}  # fmt: skip
    assert web.post("/api/v1/visitor-consents", json=body, headers=ORIGIN).status_code == 201
    return visitor


def beacon(web: TestClient, site_app: FastAPI, body: dict[str, Any], **headers: str) -> None:
    answer = web.post("/api/v1/collect", json={"site": "shop", **body}, headers=ORIGIN | headers)
    assert answer.status_code == 204
    buffer = getattr(site_app.state, "analytics_buffer", None)
    if buffer is not None:
        buffer.flush()


def stored(site_app: FastAPI) -> list[tuple[Any, ...]]:
    with site_app.state.sessions() as session:
        views = session.execute(select(PageView.site, PageView.path, PageView.utm)).all()
        events = session.execute(select(AnalyticsEvent.name, AnalyticsEvent.props)).all()
    return [tuple(v) for v in views] + [tuple(e) for e in events]


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ({"utm_source": "mail", "utm_campaign": "autumn", "gclid": "x", "q": "phone"},
         "utm_source=mail&utm_campaign=autumn"),
        ({"utm_source": "a@b.example"}, None),
        ({"utm_term": "x" * 300}, "utm_term=" + "x" * 100),
        ("utm_source=mail", None),
        ({}, None),
    ],
)  # fmt: skip
def test_only_allow_listed_campaign_parameters_are_kept(raw: object, kept: str | None) -> None:
    assert clean_utm(raw) == kept


def test_event_properties_that_look_personal_are_dropped() -> None:
    props = {"sku": "CL660HX", "email": "grace@example.org", "phone": "+49 30 7654321",
             "price": 69.99, "bad key!": 1, "ok": True}  # fmt: skip
    assert clean_props(props) == '{"ok":true,"price":69.99,"sku":"CL660HX"}'


def test_nothing_that_looks_like_an_address_or_a_phone_number_is_stored(
    web: TestClient, site_app: FastAPI
) -> None:
    """Paths, referrers, campaigns and properties are kept as plain text, so what looks
    personal is cut out before storage, however it is spelled or encoded."""
    visitor = agree(web, analytics=True)
    beacon(web, site_app, {"visitor": visitor, "path": "/user/max.mustermann@example.com/x",
                           "referrer": "https://mail.example/inbox/max%40example.com"})  # fmt: skip
    utm = {"utm_source": "+49 170 1234567", "utm_campaign": "max%40ex.de",
           "utm_term": "max(at)example.com", "utm_medium": "mail"}  # fmt: skip
    beacon(web, site_app, {"visitor": visitor, "path": "/tel/+49 170 1234567/x", "utm": utm})
    beacon(web, site_app, {"visitor": visitor, "path": "/blog/2026-11-29/post", "event": "x",
                           "props": {"e": "max\uff20example.com", "n": "5"}})  # fmt: skip

    with site_app.state.sessions() as session:
        referrers = session.scalars(select(PageView.referrer)).all()
    assert stored(site_app) == [
        ("shop", "/user/~/x", None),
        ("shop", "/tel/~/x", "utm_medium=mail"),
        ("x", '{"n":"5"}'),
    ]
    assert referrers == ["mail.example/inbox/~", None]


def test_a_page_view_needs_a_grant_in_the_ledger(web: TestClient, site_app: FastAPI) -> None:
    refused, agreed = agree(web, analytics=False), agree(web, analytics=True)
    utm = {"utm_source": "news", "fbclid": "x"}

    beacon(web, site_app, {"visitor": refused, "path": "/a"})
    beacon(web, site_app, {"visitor": new_visitor_id(), "path": "/b"})
    beacon(web, site_app, {"visitor": agreed, "path": "/c", "utm": utm}, **{"Sec-GPC": "1"})
    beacon(web, site_app, {"visitor": agreed, "path": "/d?email=x@y.example", "utm": utm})
    beacon(web, site_app, {"visitor": agreed, "event": "add_to_cart", "props": {"sku": "X"}})

    assert stored(site_app) == [("shop", "/d", "utm_source=news"), ("add_to_cart", '{"sku":"X"}')]


def test_the_staff_page_reports_per_site_and_exports_csv(
    web: TestClient, site_app: FastAPI
) -> None:
    visitor = agree(web, analytics=True)
    beacon(web, site_app, {"visitor": visitor, "path": "/", "utm": {"utm_campaign": "=cmd"}})
    beacon(web, site_app, {"visitor": visitor, "event": "-signup"})
    with transaction(site_app.state.sessions) as session:
        user = add_staff(session, email="m@shop.example", role="marketing",
                         password="a long enough secret", actor="cli", now=utcnow())  # fmt: skip
        _row, token = start_session(session, user, now=utcnow())
    web.cookies.set(SESSION_COOKIE, token)

    page = web.get("/staff/analytics?lang=de")
    exported = web.get("/staff/analytics/sites.csv?site=shop&days=7")

    assert page.status_code == 200
    assert "sites.csv?site=shop" in page.text
    assert exported.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(exported.text)))
    assert table[0] == ["day", "site", "kind", "key", "count", "visitors"]
    kinds = {(row[2], row[3]): row[4] for row in table[1:]}
    assert kinds[("path", "/")] == "1"
    assert kinds[("campaign", "utm_campaign=%3Dcmd")] == "1"
    assert kinds[("event", "'-signup")] == "1"  # no cell a spreadsheet runs as a formula
    web.cookies.clear()
    assert (
        web.get("/staff/analytics/sites.csv?site=shop", follow_redirects=False).status_code != 200
    )
