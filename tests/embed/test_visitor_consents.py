"""`POST /api/v1/visitor-consents`, the site registry and CORS, over HTTP (issue 14).

Who may call: pages of a declared origin of that site. What a stranger learns: nothing
(403 before any route runs, counted). Oversize, bad JSON, stale registry, forged wording
hash: refused, nothing stored. 20 parallel posts: 20 choices, one event each, chain intact.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schutz.config import Settings
from schutz.consent.models import ConsentEvent
from schutz.cookies.choices import new_visitor_id
from schutz.db import make_engine, make_session_factory
from schutz.web.app import create_app
from static_shop import Pair
from webapp import TestClient, close_app

SHOP = "https://shop.example"
OTHER = "https://evil.example"


def registry(web: TestClient, lang: str = "en") -> dict[str, Any]:
    answer = web.get(f"/api/v1/sites/shop/registry?lang={lang}", headers={"Origin": SHOP})
    assert answer.status_code == 200
    return dict(answer.json())


def choice(reg: dict[str, Any], **change: Any) -> dict[str, Any]:
    body = {
        "site": "shop",
        "visitor": new_visitor_id(),
        "version": reg["version"],
        "wording_hash": reg["wording_hash"],
        "lang": reg["lang"],
        "categories": {"analytics": True, "embeds": False},
        "services": {},
    }
    return body | change


def events(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(ConsentEvent)) or 0)


def refused(app: FastAPI) -> float:
    total = 0.0
    for metric in app.state.metrics_registry.collect():
        if metric.name == "schutz_cors_refused":
            total += sum(s.value for s in metric.samples if s.name.endswith("_total"))
    return total


def test_the_registry_is_served_to_declared_origins_in_both_languages(web: TestClient) -> None:
    en, de = registry(web, "en"), registry(web, "de")
    answer = web.get("/api/v1/sites/shop/registry", headers={"Origin": SHOP})

    assert answer.headers["access-control-allow-origin"] == SHOP
    assert "access-control-allow-credentials" not in answer.headers
    assert en["version"] == de["version"]
    assert en["wording_hash"] != de["wording_hash"]
    assert de["text"]["accept"] == "Alle akzeptieren"
    assert [c["key"] for c in en["categories"]] == ["analytics", "embeds"]
    assert {s["key"] for s in en["services"]} >= {"facebook", "twitter"}
    assert en["consent_cookie"] == {"name": "schutz_consent", "category": "essential",
                                    "max_age": 365 * 86400}  # fmt: skip
    assert web.get("/api/v1/sites/blog/registry", headers={"Origin": SHOP}).status_code == 404


def test_a_preflight_from_a_declared_origin_is_answered(web: TestClient) -> None:
    answer = web.options(
        "/api/v1/visitor-consents",
        headers={"Origin": "https://www.shop.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"},
    )  # fmt: skip

    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == "https://www.shop.example"
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert answer.headers["access-control-allow-headers"] == "content-type"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("OPTIONS", "/api/v1/visitor-consents"),
        ("POST", "/api/v1/visitor-consents"),
        ("GET", "/api/v1/sites/shop/registry"),
        ("POST", "/api/v1/collect"),
        ("OPTIONS", "/api/v1/collect"),
    ],
)
def test_other_origins_are_refused_and_counted(
    web: TestClient, site_app: FastAPI, method: str, path: str
) -> None:
    before = refused(site_app)
    headers = {"Origin": OTHER, "Access-Control-Request-Method": "POST"}

    answer = web.request(method, path, headers=headers, content=b"{}")

    assert answer.status_code == 403
    assert "access-control-allow-origin" not in answer.headers
    assert refused(site_app) == before + 1


@pytest.mark.parametrize("origin", ["evil://testserver", "http://testserver.evil", "null"])
def test_an_origin_that_only_resembles_ours_is_refused(
    web: TestClient, site_app: FastAPI, origin: str
) -> None:
    before = refused(site_app)
    answer = web.get("/api/v1/sites/shop/registry", headers={"Origin": origin})
    assert answer.status_code == 403
    assert refused(site_app) == before + 1


def test_our_own_pages_need_no_cors(web: TestClient) -> None:
    answer = web.post(
        "/api/v1/collect", json={"path": "/privacy"}, headers={"Origin": "http://testserver"}
    )
    assert answer.status_code == 204


def test_a_choice_is_kept_with_its_proof(web: TestClient, session: Session) -> None:
    reg = registry(web)
    body = choice(reg, services={"facebook": True})

    answer = web.post("/api/v1/visitor-consents", json=body, headers={"Origin": SHOP})

    assert answer.status_code == 201
    assert answer.headers["access-control-allow-origin"] == SHOP
    assert answer.json()["recorded"] == [
        "category:analytics",
        "category:embeds",
        "service:facebook",
    ]
    (event,) = session.scalars(
        select(ConsentEvent).where(ConsentEvent.visitor_id == body["visitor"])
    )
    assert (event.purpose, event.action) == ("web_analytics", "grant")
    assert event.wording_hash == reg["wording_hash"]
    proof = json.loads(event.evidence or "")
    assert proof["origin"] == SHOP
    assert proof["site"] == "shop"
    assert proof["registry_version"] == reg["version"]
    assert proof["services"] == {"facebook": True}


@pytest.mark.parametrize(
    ("change", "origin", "status"),
    [
        ({}, "https://www.shop.example:8443", 403),  # CORS: not declared
        ({"site": "blog"}, SHOP, 404),
        ({"version": "2026-11-00000000"}, SHOP, 409),
        ({"wording_hash": "0" * 64}, SHOP, 409),
        ({"categories": {"marketing": True}}, SHOP, 422),
        ({"services": {"tiktok": True}}, SHOP, 422),
        ({"visitor": "short"}, SHOP, 422),
        ({"categories": {"analytics": "yes"}}, SHOP, 422),
    ],
)
def test_a_wrong_choice_is_refused_and_nothing_is_stored(
    web: TestClient, session: Session, change: dict[str, Any], origin: str, status: int
) -> None:
    answer = web.post(
        "/api/v1/visitor-consents", json=choice(registry(web), **change), headers={"Origin": origin}
    )
    assert answer.status_code == status
    assert events(session) == 0


def test_a_choice_without_an_origin_is_refused(web: TestClient, session: Session) -> None:
    assert web.post("/api/v1/visitor-consents", json=choice(registry(web))).status_code == 403
    assert events(session) == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 422),
        (b"[]", 422),
        (json.dumps({"site": "shop", "pad": "x" * 9000}).encode(), 413),
    ],
)
def test_bad_and_oversize_bodies_are_refused(
    web: TestClient, session: Session, body: bytes, status: int
) -> None:
    answer = web.post(
        "/api/v1/visitor-consents",
        content=body,
        headers={"Origin": SHOP, "Content-Type": "application/json"},
    )
    assert answer.status_code == status
    assert "Traceback" not in answer.text
    assert events(session) == 0


def test_twenty_parallel_choices_are_twenty_proofs(server: Pair) -> None:
    origin = server.shop
    request = urllib.request.Request(  # noqa: S310 - our own http://127.0.0.1 server
        f"{server.schutz}/api/v1/sites/shop/registry?lang=de", headers={"Origin": origin}
    )
    with urllib.request.urlopen(request) as answer:  # noqa: S310 - our own server
        reg = json.load(answer)
    bodies = [choice(reg) for _ in range(20)]

    def post(body: dict[str, Any]) -> int:
        sent = urllib.request.Request(  # noqa: S310 - our own server
            f"{server.schutz}/api/v1/visitor-consents",
            data=json.dumps(body).encode(),
            headers={"Origin": origin, "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(sent) as answer:  # noqa: S310 - our own server
            return int(answer.status)

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(post, bodies))

    assert statuses == [201] * 20
    engine = make_engine(server.database_url)
    try:
        with make_session_factory(engine)() as session:
            ids = {b["visitor"] for b in bodies}
            stored = session.scalars(
                select(ConsentEvent.visitor_id).where(ConsentEvent.visitor_id.in_(ids))
            ).all()
            assert sorted(s or "" for s in stored) == sorted(ids)
    finally:
        engine.dispose()

    env = {**os.environ, "SCHUTZ_DATA_DIR": str(server.data_dir),
           "SCHUTZ_DATABASE_URL": server.database_url}  # fmt: skip
    verified = subprocess.run(
        [sys.executable, "-m", "schutz", "audit", "verify"],
        env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_choices_are_rate_limited_per_network_like_the_beacon(settings: Settings) -> None:
    limited = settings.model_copy(
        update={"sites": f"shop={SHOP}", "rate_limit_visitor_consents": "2/600"}
    )
    app = create_app(limited)
    try:
        with TestClient(app) as web:
            reg = registry(web)
            statuses = [
                web.post("/api/v1/visitor-consents", json=choice(reg), headers={"Origin": SHOP})
                for _ in range(3)
            ]
    finally:
        close_app(app)

    assert [s.status_code for s in statuses] == [201, 201, 429]
    assert statuses[2].headers["retry-after"]
    # The script on the shop's page can read the refusal.
    assert statuses[2].headers["access-control-allow-origin"] == SHOP
