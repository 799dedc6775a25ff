"""The consent ledger: append-only proof, derived state, objections that stick (C8, C18, C19)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.audit.models import AuditEntry
from schutz.consent.models import ConsentEvent
from schutz.consent.service import (
    ConsentState,
    current_state,
    history,
    record_consent,
    states_for_purpose,
    states_for_subjects,
    subject_state,
    wording_hash,
)
from schutz.errors import Conflict, Denied, InvalidInput
from schutz.policy.engine import Engine
from schutz.policy.schema import Policy

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
ANNA = "a1" * 16
WORDING = "Yes, send me the Gigaset newsletter by e-mail. I can unsubscribe at any time."


def say(
    session: Session,
    policy: Policy,
    action: str,
    purpose: str = "newsletter",
    *,
    at: datetime = NOW,
    **extra: Any,
) -> ConsentEvent:
    extra.setdefault("subject_id", ANNA)
    extra.setdefault("channel", "web")
    return record_consent(
        session, policy, purpose=purpose, action=action, now=at, **{"actor": "subject", **extra}
    )


def counts(session: Session) -> tuple[int | None, int | None]:
    return (
        session.scalar(select(func.count()).select_from(ConsentEvent)),
        session.scalar(select(func.count()).select_from(AuditEntry)),
    )


def test_a_grant_keeps_its_proof_with_the_address_truncated(
    session: Session, policy: Policy
) -> None:
    event = say(
        session,
        policy,
        "grant",
        wording=WORDING,
        wording_version="newsletter-signup-v1",
        ip="203.0.113.77",
        user_agent="Mozilla/5.0 (X11; Linux x86_64)",
    )
    session.commit()
    assert event.ip_truncated == "203.0.113.0"
    assert event.wording_hash == wording_hash(WORDING)
    assert event.wording_version == "newsletter-signup-v1"
    assert event.policy_version == policy.version
    assert (event.recorded_by, event.at, event.channel) == ("subject", NOW, "web")
    [entry] = session.scalars(select(AuditEntry)).all()
    assert (entry.action, entry.subject_id, entry.purpose) == ("consent.grant", ANNA, "newsletter")
    assert entry.details["event_id"] == event.id
    assert "203.0.113" not in str(entry.details)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"purpose": "selling_addresses"}, "not a purpose"),
        ({"action": "maybe"}, "unknown action"),
        ({"channel": "carrier_pigeon"}, "unknown channel"),
        ({"visitor_id": "v" * 20}, "either a subject or a visitor"),
        ({"subject_id": None}, "either a subject or a visitor"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    session: Session, policy: Policy, fields: dict[str, Any], message: str
) -> None:
    args: dict[str, Any] = {
        "subject_id": ANNA,
        "purpose": "newsletter",
        "action": "grant",
        "channel": "web",
    } | fields
    with pytest.raises(InvalidInput, match=message):
        record_consent(session, policy, actor="subject", now=NOW, **args)
    assert counts(session) == (0, 0)


def test_newsletter_consent_counts_only_once_confirmed(
    session: Session, policy: Policy, rules: Engine
) -> None:
    say(session, policy, "grant", wording=WORDING)
    assert current_state(session, policy, ANNA) == {"newsletter": ConsentState.GRANTED}
    state = subject_state(session, policy, ANNA)
    assert rules.check("marketing", "newsletter", state).rule == "no_consent"

    say(session, policy, "confirm", evidence="token-sha256:1f2e", at=NOW + timedelta(hours=1))
    assert current_state(session, policy, ANNA) == {"newsletter": ConsentState.CONFIRMED}
    assert rules.check("marketing", "newsletter", subject_state(session, policy, ANNA)).allowed


def test_a_second_confirmation_is_refused_and_changes_nothing(
    session: Session, policy: Policy
) -> None:
    say(session, policy, "grant", wording=WORDING)
    say(session, policy, "confirm")
    before = counts(session)
    with pytest.raises(Conflict, match="already confirmed"):
        say(session, policy, "confirm")
    assert counts(session) == before


def test_nothing_to_confirm_without_a_grant(session: Session, policy: Policy) -> None:
    with pytest.raises(Conflict, match="waiting for confirmation"):
        say(session, policy, "confirm")
    say(session, policy, "grant", wording=WORDING)
    say(session, policy, "withdraw", at=NOW + timedelta(minutes=1))
    with pytest.raises(Conflict):
        say(session, policy, "confirm", at=NOW + timedelta(minutes=2))
    assert counts(session) == (2, 2)


def test_a_repeated_signup_does_not_undo_the_confirmation(session: Session, policy: Policy) -> None:
    say(session, policy, "grant", wording=WORDING)
    say(session, policy, "confirm")
    say(session, policy, "grant", wording=WORDING, at=NOW + timedelta(days=3))
    assert current_state(session, policy, ANNA) == {"newsletter": ConsentState.CONFIRMED}


def test_withdrawn_consent_blocks_the_newsletter_at_once(
    session: Session, policy: Policy, rules: Engine
) -> None:
    say(session, policy, "grant", wording=WORDING)
    say(session, policy, "confirm")
    say(session, policy, "withdraw", channel="email", at=NOW + timedelta(days=1))
    assert current_state(session, policy, ANNA) == {"newsletter": ConsentState.WITHDRAWN}
    decision = rules.check("marketing", "newsletter", subject_state(session, policy, ANNA))
    assert decision.rule == "no_consent"


def test_an_objection_by_fax_stops_all_direct_marketing(
    session: Session, policy: Policy, rules: Engine
) -> None:
    say(session, policy, "grant", wording=WORDING)
    say(session, policy, "confirm")
    assert rules.check(
        "marketing", "direct_marketing", subject_state(session, policy, ANNA)
    ).allowed

    objection = record_consent(
        session,
        policy,
        subject_id=ANNA,
        purpose="direct_marketing",
        action="object",
        channel="fax",
        evidence="scan:FAX-2026-0042",
        actor="staff:7",
        now=NOW + timedelta(days=2),
    )
    assert (objection.channel, objection.evidence, objection.recorded_by) == (
        "fax",
        "scan:FAX-2026-0042",
        "staff:7",
    )
    state = subject_state(session, policy, ANNA)
    for purpose in ("direct_marketing", "newsletter"):
        decision = rules.check("marketing", purpose, state)
        assert decision.rule == "objected"
        assert "21(3)" in decision.reason
    assert rules.check("marketing", "market_research", state).allowed
    assert current_state(session, policy, ANNA)["newsletter"] is ConsentState.OBJECTED


def test_a_withdrawal_after_an_objection_does_not_lift_it(
    session: Session, policy: Policy, rules: Engine
) -> None:
    say(session, policy, "object", "direct_marketing", channel="post", evidence="scan:P-1")
    say(session, policy, "withdraw", "direct_marketing", at=NOW + timedelta(minutes=1))
    state = subject_state(session, policy, ANNA)
    assert rules.check("marketing", "direct_marketing", state).rule == "objected"


def test_only_the_subjects_documented_statement_lifts_a_marketing_objection(
    session: Session, policy: Policy, rules: Engine
) -> None:
    say(session, policy, "object", "direct_marketing", channel="post", evidence="scan:P-1")
    later = NOW + timedelta(days=30)
    with pytest.raises(Denied, match="objection") as refused:
        say(session, policy, "grant", "direct_marketing", channel="api", evidence="x", at=later)
    assert refused.value.rule == "lift_authority"
    with pytest.raises(Conflict):
        say(session, policy, "confirm", at=later)

    # A newsletter sign-up counts only once the address's owner confirms it (double opt-in).
    say(session, policy, "grant", wording=WORDING, at=later)
    say(session, policy, "confirm", at=later + timedelta(minutes=5))
    state = subject_state(session, policy, ANNA)
    assert rules.check("marketing", "newsletter", state).allowed
    assert rules.check("marketing", "direct_marketing", state).rule == "objected"


def test_a_newsletter_ask_after_an_objection_revives_no_confirmation(
    session: Session, policy: Policy, rules: Engine
) -> None:
    """Anyone may ask for the newsletter for an address; after an objection the ask lifts
    nothing and brings back no earlier confirmation: only the owner's confirmation does."""
    say(session, policy, "grant", wording=WORDING)
    say(session, policy, "confirm", at=NOW + timedelta(minutes=1))
    say(session, policy, "object", "direct_marketing", at=NOW + timedelta(days=1))
    for standing in ("other", "subject"):  # a stranger's form, a shop key: both only ask
        say(session, policy, "grant", wording=WORDING, channel="api", standing=standing,
            actor="apikey:shop", at=NOW + timedelta(days=2))  # fmt: skip
        assert current_state(session, policy, ANNA)["newsletter"] is ConsentState.OBJECTED
        assert not rules.check(
            "marketing", "newsletter", subject_state(session, policy, ANNA)
        ).allowed
    assert dict(states_for_subjects(session, policy, "newsletter", [ANNA])) == {
        ANNA: ConsentState.OBJECTED
    }
    say(session, policy, "confirm", at=NOW + timedelta(days=3))  # from the owner's mailbox
    assert current_state(session, policy, ANNA)["newsletter"] is ConsentState.CONFIRMED
    assert current_state(session, policy, ANNA)["direct_marketing"] is ConsentState.OBJECTED


def test_api_key_cannot_lift_an_objection(session: Session, policy: Policy) -> None:
    say(session, policy, "object", "direct_marketing", channel="post", evidence="scan:P-1")
    for standing, evidence in (("other", "customer ticked the box"), ("dpo", None)):
        with pytest.raises(Denied):
            say(session, policy, "grant", "direct_marketing", channel="api",
                evidence=evidence, standing=standing, actor="apikey:mk")  # fmt: skip
    assert current_state(session, policy, ANNA)["direct_marketing"] is ConsentState.OBJECTED
    refusals = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "consent.grant_refused")
    ).all()
    assert [(e.purpose, e.flagged, e.details["rule"]) for e in refusals] == [
        ("direct_marketing", True, "lift_authority")
    ] * 2
    assert audit.verify(session).ok


def test_a_withdrawal_is_lifted_only_by_the_subject_or_the_dpo_with_evidence(
    session: Session, policy: Policy
) -> None:
    say(session, policy, "grant", "service_improvement", channel="api")
    say(session, policy, "withdraw", "service_improvement", at=NOW + timedelta(minutes=1))
    with pytest.raises(Denied, match="withdrawal"):
        say(session, policy, "grant", "service_improvement", channel="api",
            at=NOW + timedelta(minutes=2))  # fmt: skip
    say(session, policy, "grant", "service_improvement", channel="post", standing="dpo",
        evidence="scan:L-7", at=NOW + timedelta(minutes=3))  # fmt: skip
    assert current_state(session, policy, ANNA)["service_improvement"] is ConsentState.GRANTED
    say(session, policy, "object", "market_research", at=NOW + timedelta(minutes=4))
    say(session, policy, "grant", "market_research", standing="subject",
        wording="Yes, ask me for my opinion.", at=NOW + timedelta(minutes=5))  # fmt: skip
    assert current_state(session, policy, ANNA)["market_research"] is ConsentState.GRANTED


def test_consent_to_a_purpose_without_double_opt_in_counts_at_once(
    session: Session, policy: Policy
) -> None:
    say(session, policy, "grant", "service_improvement", channel="api")
    assert "service_improvement" in subject_state(session, policy, ANNA).consented


def test_an_anonymous_visitors_gpc_signal_is_kept_apart_from_subjects(
    session: Session, policy: Policy, rules: Engine
) -> None:
    visitor = "c0ffee" * 4
    say(
        session,
        policy,
        "object",
        "web_analytics",
        subject_id=None,
        visitor_id=visitor,
        channel="gpc",
    )
    state = subject_state(session, policy, visitor_id=visitor)
    assert rules.check("marketing", "web_analytics", state).rule == "objected"
    assert current_state(session, policy, ANNA) == {}
    [entry] = session.scalars(select(AuditEntry)).all()
    assert entry.subject_id is None
    assert entry.details["anonymous"] is True


def test_history_is_the_whole_ledger_in_time_order(session: Session, policy: Policy) -> None:
    say(session, policy, "grant", wording=WORDING, at=NOW)
    say(session, policy, "confirm", at=NOW + timedelta(minutes=10))
    # A letter dated before the confirmation, entered afterwards by staff.
    say(
        session,
        policy,
        "object",
        "market_research",
        channel="post",
        evidence="scan:P-9",
        at=NOW + timedelta(minutes=5),
    )
    say(session, policy, "withdraw", channel="email", at=NOW + timedelta(days=1))
    say(session, policy, "grant", "service_improvement", subject_id="b2" * 16)
    events = history(session, ANNA)
    assert [(e.action, e.purpose) for e in events] == [
        ("grant", "newsletter"),
        ("object", "market_research"),
        ("confirm", "newsletter"),
        ("withdraw", "newsletter"),
    ]
    assert current_state(session, policy, ANNA) == {
        "newsletter": ConsentState.WITHDRAWN,
        "market_research": ConsentState.OBJECTED,
    }


def test_every_event_lands_in_an_intact_audit_chain(session: Session, policy: Policy) -> None:
    say(session, policy, "grant", wording=WORDING)
    say(session, policy, "confirm")
    say(session, policy, "withdraw")
    session.commit()
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert actions == ["consent.grant", "consent.confirm", "consent.withdraw"]
    assert audit.verify(session).ok


def test_a_rolled_back_transaction_leaves_no_event_and_no_audit(
    session: Session, policy: Policy
) -> None:
    say(session, policy, "grant", wording=WORDING)
    session.rollback()
    assert counts(session) == (0, 0)


def test_states_for_a_purpose_stream_every_subject_once(session: Session, policy: Policy) -> None:
    ben, cleo, dora = "b2" * 16, "c3" * 16, "d4" * 16
    for subject in (ANNA, ben, cleo):
        say(session, policy, "grant", subject_id=subject, wording=WORDING)
    say(session, policy, "confirm", subject_id=ANNA)
    say(session, policy, "confirm", subject_id=ben)
    say(session, policy, "withdraw", subject_id=ben, at=NOW + timedelta(days=1))
    say(session, policy, "object", "direct_marketing", subject_id=cleo, channel="fax")
    say(session, policy, "grant", "service_improvement", subject_id=dora)

    newsletter = dict(states_for_purpose(session, policy, "newsletter", batch_size=2))
    assert newsletter == {
        ANNA: ConsentState.CONFIRMED,
        ben: ConsentState.WITHDRAWN,
        cleo: ConsentState.OBJECTED,
    }
    marketing = dict(states_for_purpose(session, policy, "direct_marketing"))
    assert marketing == {cleo: ConsentState.OBJECTED}
    with pytest.raises(InvalidInput):
        list(states_for_purpose(session, policy, "reselling"))
