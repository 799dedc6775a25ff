"""Recording consents and objections, and reading a subject's current state from the ledger.

Every change is a new `ConsentEvent` plus an audit entry in the caller's transaction;
nothing is updated or deleted. The state the decision engine reads is derived in
`state.py`, and in bulk for audiences in `audiences.py`; both are re-exported here.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Literal

from sqlalchemy.orm import Session

from schutz.analytics.ip import truncate_ip
from schutz.audit import service as audit
from schutz.consent.audiences import (
    state_batches_for_purpose,
    states_for_purpose,
    states_for_subjects,
)
from schutz.consent.models import ConsentEvent
from schutz.consent.state import (
    ConsentState,
    Folded,
    PurposeState,
    check_purpose,
    current_state,
    derive_state,
    fold,
    history,
    identify,
    ledger_events,
    needs_confirmation,
    state_for_engine,
    subject_state,
    waiting_ask,
)
from schutz.consent.vocabulary import ConsentAction, ConsentChannel
from schutz.consent.wordings import remember_wording
from schutz.errors import Conflict, Denied, InvalidInput
from schutz.policy.schema import Policy

__all__ = [
    "LIFT_AUTHORITY",
    "USER_AGENT_MAX",
    "ConsentAction",
    "ConsentChannel",
    "ConsentState",
    "Folded",
    "PurposeState",
    "Standing",
    "check_lift",
    "current_state",
    "derive_state",
    "history",
    "needs_confirmation",
    "record_consent",
    "state_batches_for_purpose",
    "state_for_engine",
    "states_for_purpose",
    "states_for_subjects",
    "subject_state",
    "user_agent_fingerprint",
    "waiting_ask",
    "wording_hash",
]

USER_AGENT_MAX = 400


LIFT_AUTHORITY = "lift_authority"
"""The rule a refused grant names: only the subject or the DPO lifts an objection."""


Standing = Literal["subject", "dpo", "other"]
"""Who stands behind a consent event, as the edge established it: `subject` is the verified
subject (a privacy-centre session, a verified request), `dpo` the data-protection officer
(staff or API key with that role), `other` anyone else (other keys, public forms)."""


def user_agent_fingerprint(user_agent: str) -> str:
    """What the proof keeps of a browser's User-Agent: its SHA-256, never the text.

    The header is free text a client chooses (anything can ride in it) and outlives an
    erasure in the ledger; the fingerprint still shows, for a User-Agent presented later,
    whether it was the one that signed up (invariant 3).
    """
    digest = hashlib.sha256(user_agent[:USER_AGENT_MAX].encode("utf-8", "replace"))
    return f"sha256:{digest.hexdigest()}"


def wording_hash(wording: str) -> str:
    """SHA-256 (hex) of the consent wording exactly as shown, for proof under Art. 7(1)."""
    return hashlib.sha256(wording.encode("utf-8")).hexdigest()


def _parse(value: str, kind: type[StrEnum], what: str) -> StrEnum:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(v.value for v in kind)
        raise InvalidInput(f"unknown {what} {value!r}; use one of: {allowed}") from None


def record_consent(
    session: Session,
    policy: Policy,
    *,
    subject_id: str | None = None,
    visitor_id: str | None = None,
    purpose: str,
    action: str,
    channel: str,
    evidence: str | None = None,
    policy_version: str | None = None,
    wording: str | None = None,
    wording_version: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    standing: Standing = "other",
    actor: str,
    now: datetime,
) -> ConsentEvent:
    """Append one grant, confirmation, withdrawal or objection, and audit it.

    The event keeps what proves it (Art. 7(1) GDPR): channel, policy version, a hash of the
    wording shown, the truncated address and user agent, and the evidence reference of a
    letter or fax. A withdrawal or objection is always accepted, through any channel, so
    that taking consent back is as easy as giving it (Art. 7(3)). A confirmation needs an
    unconfirmed grant before it. A grant after an objection or a withdrawal lifts it, so
    only the subject's own word may give it (see `check_lift`); anyone else's is refused
    with `Denied` (rule `lift_authority`) and the refusal is audited (the caller commits
    it). Raises `InvalidInput` for an unknown purpose, action or channel and `Conflict` for
    a confirmation with nothing to confirm; nothing is written then.
    """
    identify(subject_id, visitor_id)
    check_purpose(policy, purpose)
    act = ConsentAction(_parse(action, ConsentAction, "action"))
    chan = ConsentChannel(_parse(channel, ConsentChannel, "channel"))
    current, asked = _standing_of(session, policy, subject_id, visitor_id, purpose)
    if act is ConsentAction.CONFIRM:
        _check_confirmable(purpose, current, asked)
    if act is ConsentAction.GRANT and subject_id is not None:
        check_lift(
            session, policy, subject_id, purpose, current,
            standing=standing, evidence=evidence, channel=chan.value, actor=actor, now=now,
        )  # fmt: skip
    event = ConsentEvent(
        subject_id=subject_id,
        visitor_id=visitor_id,
        purpose=purpose,
        action=act.value,
        channel=chan.value,
        policy_version=policy_version or policy.version,
        wording_hash=wording_hash(wording) if wording is not None else None,
        wording_version=wording_version,
        ip_truncated=truncate_ip(ip),
        user_agent=user_agent_fingerprint(user_agent) if user_agent else None,
        evidence=evidence or None,
        recorded_by=actor,
        at=now,
    )
    _append(session, event, wording=wording, actor=actor, now=now)
    return event


def _standing_of(
    session: Session, policy: Policy, subject_id: str | None, visitor_id: str | None, purpose: str
) -> tuple[PurposeState | None, PurposeState | None]:
    """(where `purpose` stands now, the consent asked for it): the ledger folded once."""
    consent, objections = fold(
        policy, ledger_events(session, subject_id=subject_id, visitor_id=visitor_id)
    )
    return (consent | objections).get(purpose), consent.get(purpose)


def _check_confirmable(
    purpose: str, current: PurposeState | None, asked: PurposeState | None
) -> None:
    """Refuse a confirmation with nothing unconfirmed before it (`Conflict`).

    The owner's confirmation of an ask made after an objection lifts it (`derive_state`),
    so a waiting ask counts even where the purpose reads as objected.
    """
    if asked is not None and asked.state is ConsentState.GRANTED:
        current = asked
    if current is not None and current.state is ConsentState.OBJECTED:
        raise Conflict(f"the subject objected to {purpose!r}; there is nothing to confirm")
    if current is not None and current.state is ConsentState.CONFIRMED:
        raise Conflict(f"consent to {purpose!r} is already confirmed")
    if current is None or current.state is not ConsentState.GRANTED:
        raise Conflict(f"there is no consent to {purpose!r} waiting for confirmation")


def _append(
    session: Session, event: ConsentEvent, *, wording: str | None, actor: str, now: datetime
) -> None:
    """Add `event` to the ledger with its audit entry: its id and proof, never who the
    visitor is. The wording's text is kept once under its hash, for the DPO's export."""
    session.add(event)
    session.flush()
    if wording is not None and event.wording_hash is not None:
        remember_wording(session, event.wording_hash, wording, event.wording_version, now=now)
    details: dict[str, object] = {
        "event_id": event.id,
        "channel": event.channel,
        "policy_version": event.policy_version,
        "anonymous": event.visitor_id is not None,
    }
    if event.wording_version:
        details["wording_version"] = event.wording_version
    audit.record(
        session,
        actor=actor,
        action=f"consent.{event.action}",
        subject_id=event.subject_id,
        purpose=event.purpose,
        details=details,
        now=now,
    )


def check_lift(
    session: Session,
    policy: Policy,
    subject_id: str,
    purpose: str,
    current: PurposeState | None,
    *,
    standing: Standing,
    evidence: str | None,
    channel: str,
    actor: str,
    now: datetime,
) -> None:
    """Refuse a grant that would lift an objection or a withdrawal on someone else's word.

    An objection to direct marketing is absolute (Art. 21(3) GDPR) and a withdrawal ends
    consent (Art. 7(3)); neither may be undone by a shop or marketing system that sends a
    grant and any evidence text. Only the verified subject lifts them, or the DPO with
    evidence of the subject's statement (a letter, a fax). A grant of a double opt-in
    purpose stays pending until the owner of the address confirms it from the mail sent
    there (UWG §7), so it may be recorded by a public form; it counts only once confirmed.
    """
    if current is None or current.state not in (ConsentState.OBJECTED, ConsentState.WITHDRAWN):
        return
    if standing == "subject" or needs_confirmation(policy, purpose):
        return
    if standing == "dpo" and evidence and evidence.strip():
        return
    audit.record(
        session,
        actor=actor,
        action="consent.grant_refused",
        subject_id=subject_id,
        purpose=purpose,
        details={
            "rule": LIFT_AUTHORITY,
            "state": current.state.value,
            "standing": standing,
            "channel": channel,
        },
        flagged=True,
        now=now,
    )
    what = "objection" if current.state is ConsentState.OBJECTED else "withdrawal"
    raise Denied(
        f"this grant would lift the subject's {what} for {purpose!r}",
        f"an {what} is lifted only by the subject (privacy centre, verified request) or by"
        " the data-protection officer with evidence (Art. 21(3), Art. 7(3) GDPR)",
        LIFT_AUTHORITY,
    )


# The ledger helpers' names from before the split, for code written against this module
# while it was one (other branches in flight); new code imports them from `state`.
_events = ledger_events
_fold = fold
_identify = identify
