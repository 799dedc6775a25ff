"""The DPO's registers in the console: `/staff/consents` (search, CSV with wordings) and
`/staff/breaches` (record, clock, draft, report, notify), and the overdue-breach metric."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from records import api_customer, take_order
from schutz.audit.models import AuditEntry
from schutz.clock import utcnow
from schutz.config import Settings
from schutz.policy.engine import Engine as Rules
from schutz.vault.keys import Keyring
from schutz.web.app import create_app
from webapp import GRACE_ORDER, Headers, TestClient, sign_in_staff

EMAIL = GRACE_ORDER["data"]["email"]


@pytest.fixture
def follow_redirects() -> bool:
    return False


WORDING = "Yes, send me the newsletter; I can unsubscribe at any time."


def _consenting_customer(client: TestClient, auth: Headers, session: Session) -> str:
    """Grace, who agreed to the newsletter on a page that showed `WORDING`."""
    from schutz.consent.service import record_consent
    from schutz.policy.loader import load_policy_set

    subject_id = api_customer(client, auth, GRACE_ORDER["data"])
    settings = client.app.state.settings  # type: ignore[attr-defined]
    policy = load_policy_set(settings.policy).in_force(utcnow().date())
    record_consent(
        session, policy, subject_id=subject_id, purpose="newsletter", action="grant",
        channel="web", wording=WORDING, wording_version="test/en", actor="subject",
        now=utcnow(),
    )  # fmt: skip
    session.commit()
    return subject_id


def test_the_dpo_finds_consents_by_email_without_keeping_the_address(
    client: TestClient, auth: Headers, engine: Engine, session: Session
) -> None:
    body = {"subject_id": api_customer(client, auth, GRACE_ORDER["data"]),
            "purpose": "direct_marketing", "action": "object", "channel": "post",
            "evidence": "scan-4711"}  # fmt: skip
    assert client.post("/api/v1/consents", json=body, headers=auth("support")).status_code == 201
    csrf = sign_in_staff(client, engine, "dpo")

    found = client.post("/staff/consents", data={"by": "email", "term": EMAIL, "csrf_token": csrf})

    assert found.status_code == 200
    assert "scan-4711" in found.text
    assert body["subject_id"] in found.text
    assert EMAIL not in found.text
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "consent.records_read")
    ).all()
    assert [e.details for e in entries] == [{"by": "email", "rows": 1}]
    assert EMAIL not in str(session.scalars(select(AuditEntry.details)).all())
    unknown = client.post(
        "/staff/consents", data={"by": "email", "term": "x@example.org", "csrf_token": csrf}
    )
    assert unknown.status_code == 404


def test_the_csv_export_carries_the_wording_text_by_its_hash(
    client: TestClient, auth: Headers, engine: Engine, session: Session
) -> None:
    subject_id = _consenting_customer(client, auth, session)
    csrf = sign_in_staff(client, engine, "dpo")

    answer = client.post(
        "/staff/consents.csv", data={"by": "subject", "term": subject_id, "csrf_token": csrf}
    )
    everything = client.get("/staff/consents.csv")

    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    signed_up = [r for r in rows if r["purpose"] == "newsletter"]
    assert signed_up
    assert signed_up[0]["wording_hash"]
    assert signed_up[0]["wording"] == WORDING
    assert len(list(csv.DictReader(io.StringIO(everything.text)))) >= len(rows)


def test_consents_and_breaches_are_for_the_dpo_and_admin(
    client: TestClient, engine: Engine
) -> None:
    sign_in_staff(client, engine, "support")
    assert client.get("/staff/consents").status_code == 403
    assert client.get("/staff/consents.csv").status_code == 403
    assert client.get("/staff/breaches").status_code == 403


def test_a_breach_is_recorded_reported_and_told_from_the_console(
    client: TestClient, engine: Engine, session: Session, rules: Rules, keyring: Keyring
) -> None:
    take_order(session, rules, keyring, now=utcnow() - timedelta(days=5))
    session.commit()
    csrf = sign_in_staff(client, engine, "dpo")
    aware = (utcnow() - timedelta(hours=80)).strftime("%Y-%m-%dT%H:%M")
    form = {
        "csrf_token": csrf, "title": "Mail server misconfigured", "nature": "Open relay.",
        "aware_at": aware, "categories": ["user.contact.email"], "risk": "high",
        "consequences": "Spam in the customer's name.", "measures": "Relay closed.",
    }  # fmt: skip

    bad = client.post("/staff/breaches", data={**form, "categories": ["user.dna"]})
    assert bad.status_code == 422
    made = client.post("/staff/breaches", data=form)
    assert made.status_code == 303
    page = client.get(made.headers["location"])
    assert "overdue" in page.text
    assert "Approximate number of data subjects concerned: 1" in page.text
    assert "Ungefähre Zahl der betroffenen Personen: 1" in page.text
    breach_url = made.headers["location"].split("?")[0]

    late = client.post(f"{breach_url}/report", data={"csrf_token": csrf})
    assert "error=delay" in late.headers["location"]
    client.post(f"{breach_url}/report", data={"csrf_token": csrf, "delay_reason": "Weekend."})
    told = client.post(f"{breach_url}/notify", data={"csrf_token": csrf, "mail_lang": "de"})
    assert "done=notified" in told.headers["location"]
    listing = client.get("/staff/breaches?lang=de")
    assert "Verzeichnis der Datenpannen" in listing.text
    assert "gemeldet" in listing.text
    actions = set(session.scalars(select(AuditEntry.action)).all())
    assert {"breach.recorded", "breach.reported", "breach.subjects_notified"} <= actions


def test_the_metric_counts_breaches_unreported_after_72_hours(
    settings: Settings, engine: Engine
) -> None:
    from schutz.breaches import service
    from schutz.db import make_session_factory, transaction
    from schutz.policy.loader import load_policy_set

    policy = load_policy_set(settings.policy).in_force(utcnow().date())
    facts = service.BreachFacts(
        title="t", nature="n", aware_at=utcnow() - timedelta(hours=73),
        categories=("user.name",), risk="risk", consequences="c", measures="m",
    )  # fmt: skip
    with transaction(make_session_factory(engine)) as session:
        service.record_breach(session, policy, facts, actor="t", now=utcnow())
    app = create_app(settings.model_copy(update={"metrics_token": "scrape-secret-123"}))
    with TestClient(app) as client:
        text = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret-123"}).text
    app.state.engine.dispose()
    assert "schutz_breaches_unreported_overdue 1.0" in text
