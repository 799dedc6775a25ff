"""Cookie choices become consent events for the visitor id, with wording hash and version."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from schutz.audit.models import AuditEntry
from schutz.clock import utcnow
from schutz.config import BUNDLED_POLICY_DIR
from schutz.consent.service import current_state, history, wording_hash
from schutz.cookies.choices import Choices, new_visitor_id
from schutz.cookies.service import record_choices
from schutz.policy.loader import load_policy_set

POLICY = load_policy_set(BUNDLED_POLICY_DIR).get("2026-11")
WORDING = "We set only the cookies this site needs ..."


def test_accepting_and_withdrawing_analytics_are_ledger_events(session: Session) -> None:
    vid = new_visitor_id()
    empty = Choices(vid)
    accepted = empty.with_({"analytics": True, "embeds": False}, POLICY.version)

    written = record_choices(
        session, POLICY, empty, accepted, wording=WORDING, ip="203.0.113.77",
        user_agent="UA", now=utcnow(),
    )  # fmt: skip
    withdrawn = accepted.with_({"analytics": False}, POLICY.version)
    record_choices(
        session, POLICY, accepted, withdrawn, wording=WORDING, ip=None, user_agent=None,
        now=utcnow(),
    )  # fmt: skip
    session.flush()

    assert set(written) == {"analytics", "embeds"}
    events = [e for e in history(session, visitor_id=vid) if e.purpose == "web_analytics"]
    assert [e.action for e in events] == ["grant", "withdraw"]
    assert events[0].wording_hash == wording_hash(WORDING)
    assert events[0].policy_version == "2026-11"
    assert events[0].ip_truncated == "203.0.113.0"
    assert current_state(session, POLICY, visitor_id=vid)["web_analytics"].value == "withdrawn"


def test_an_unchanged_choice_writes_nothing(session: Session) -> None:
    choices = Choices(new_visitor_id(), POLICY.version, {"analytics": True})

    assert (
        record_choices(
            session,
            POLICY,
            choices,
            choices,
            wording=WORDING,
            ip=None,
            user_agent=None,
            now=utcnow(),
        )
        == []
    )


def test_a_category_without_purpose_is_proven_in_the_audit_log(session: Session) -> None:
    vid = new_visitor_id()
    after = Choices(vid).with_({"embeds": True}, POLICY.version)

    record_choices(
        session, POLICY, Choices(vid), after, wording=WORDING, ip=None, user_agent=None,
        now=utcnow(),
    )  # fmt: skip
    session.flush()

    if "social_embeds" in POLICY.purposes:
        assert [e.purpose for e in history(session, visitor_id=vid)] == ["social_embeds"]
    else:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "cookies.grant")
        ).one()
        assert entry.details["category"] == "embeds"
        assert entry.details["wording_hash"] == wording_hash(WORDING)
