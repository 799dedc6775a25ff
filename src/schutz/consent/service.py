"""Recording consents and objections, and reading a subject's current state from the ledger.

Every change is a new `ConsentEvent` plus an audit entry in the caller's transaction;
nothing is updated or deleted. The state the decision engine reads is derived here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from itertools import groupby
from typing import Any, Literal, cast

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from schutz.analytics.ip import truncate_ip
from schutz.audit import service as audit
from schutz.consent.models import ConsentAction, ConsentChannel, ConsentEvent
from schutz.errors import Conflict, Denied, InvalidInput
from schutz.policy.engine import SubjectState
from schutz.policy.schema import Policy

USER_AGENT_MAX = 400
LIFT_AUTHORITY = "lift_authority"
"""The rule a refused grant names: only the subject or the DPO lifts an objection."""

Standing = Literal["subject", "dpo", "other"]
"""Who stands behind a consent event, as the edge established it: `subject` is the verified
subject (a privacy-centre session, a verified request), `dpo` the data-protection officer
(staff or API key with that role), `other` anyone else (other keys, public forms)."""


class ConsentState(StrEnum):
    """Where one purpose stands for one subject, derived from the events."""

    GRANTED = "granted"
    """Agreed; for a double opt-in purpose this means "signed up, not yet confirmed"."""
    CONFIRMED = "confirmed"
    WITHDRAWN = "withdrawn"
    OBJECTED = "objected"


@dataclass(frozen=True)
class PurposeState:
    """The state of one purpose and the event that set it."""

    state: ConsentState
    since: datetime
    event_id: int


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


def needs_confirmation(policy: Policy, purpose: str) -> bool:
    """True when consent to `purpose` counts only once confirmed (double opt-in, UWG §7)."""
    newsletter = policy.newsletter
    return newsletter is not None and newsletter.double_opt_in and newsletter.purpose == purpose


def _direct_marketing(policy: Policy) -> frozenset[str]:
    return frozenset(k for k, p in policy.purposes.items() if p.direct_marketing)


def _events(
    session: Session, *, subject_id: str | None, visitor_id: str | None
) -> Sequence[ConsentEvent]:
    query = select(ConsentEvent).order_by(ConsentEvent.at, ConsentEvent.id)
    if subject_id is not None:
        query = query.where(ConsentEvent.subject_id == subject_id)
    else:
        query = query.where(ConsentEvent.visitor_id == visitor_id)
    return session.scalars(query).all()


def derive_state(policy: Policy, events: Iterable[ConsentEvent]) -> dict[str, PurposeState]:
    """Fold events (oldest first) into the state of each purpose.

    Consent and objection are tracked apart. A grant after a confirmation keeps it
    confirmed; a withdrawal ends any consent (Art. 7(3)) but never an objection. An
    objection to one direct-marketing purpose is an objection to direct marketing as such
    and covers every direct-marketing purpose of the policy (Art. 21(2) and 21(3) GDPR);
    only a later grant of a purpose lifts it, for that purpose alone (and `record_consent`
    accepts such a grant only from the subject or the DPO). For a double opt-in purpose
    the grant is only an ask, which anyone may make: it lifts nothing, and only the
    owner's confirmation from the mail lifts an objection. A purpose under
    objection reads as objected, whatever its consent says.
    """
    consent, objections = _fold(policy, events)
    return consent | objections


Folded = tuple[dict[str, PurposeState], dict[str, PurposeState]]


def _fold(policy: Policy, events: Iterable[ConsentEvent]) -> Folded:
    """Consent and objections per purpose, apart (see `derive_state`)."""
    marketing = _direct_marketing(policy)
    consent: dict[str, PurposeState] = {}
    objections: dict[str, PurposeState] = {}
    for event in events:
        action = ConsentAction(event.action)
        current = consent.get(event.purpose)
        if action is ConsentAction.GRANT:
            if needs_confirmation(policy, event.purpose):
                # Anyone may ask for a double opt-in purpose; the ask lifts nothing and
                # revives no earlier confirmation once withdrawn or objected to: only the
                # owner's confirmation from the mail does (below).
                blocked = event.purpose in objections
                keep = (
                    not blocked and current is not None and current.state is ConsentState.CONFIRMED
                )
            else:
                objections.pop(event.purpose, None)
                keep = current is not None and current.state is ConsentState.CONFIRMED
            state = ConsentState.CONFIRMED if keep else ConsentState.GRANTED
            consent[event.purpose] = PurposeState(state, event.at, event.id)
        elif action is ConsentAction.CONFIRM:
            objections.pop(event.purpose, None)
            consent[event.purpose] = PurposeState(ConsentState.CONFIRMED, event.at, event.id)
        elif action is ConsentAction.WITHDRAW:
            consent[event.purpose] = PurposeState(ConsentState.WITHDRAWN, event.at, event.id)
        else:
            objected = PurposeState(ConsentState.OBJECTED, event.at, event.id)
            covered = marketing if event.purpose in marketing else {event.purpose}
            for purpose in covered | {event.purpose}:
                objections[purpose] = objected
    return consent, objections


def _identify(subject_id: str | None, visitor_id: str | None) -> None:
    if (subject_id is None) == (visitor_id is None):
        raise InvalidInput("a consent belongs to either a subject or a visitor, not both")
    if visitor_id is not None and not 8 <= len(visitor_id) <= 64:
        raise InvalidInput("a visitor id must have 8 to 64 characters")
    if subject_id is not None and not 1 <= len(subject_id) <= 32:
        raise InvalidInput("a subject id must have 1 to 32 characters")


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
    _identify(subject_id, visitor_id)
    if purpose not in policy.purposes:
        raise InvalidInput(f"{purpose!r} is not a purpose of the privacy policy")
    act = ConsentAction(_parse(action, ConsentAction, "action"))
    chan = ConsentChannel(_parse(channel, ConsentChannel, "channel"))
    consent, objections = _fold(
        policy, _events(session, subject_id=subject_id, visitor_id=visitor_id)
    )
    current = (consent | objections).get(purpose)
    if act is ConsentAction.CONFIRM:
        # The owner's confirmation of an ask made after an objection lifts it (derive_state).
        asked = consent.get(purpose)
        if asked is not None and asked.state is ConsentState.GRANTED:
            current = asked
        if current is not None and current.state is ConsentState.OBJECTED:
            raise Conflict(f"the subject objected to {purpose!r}; there is nothing to confirm")
        if current is not None and current.state is ConsentState.CONFIRMED:
            raise Conflict(f"consent to {purpose!r} is already confirmed")
        if current is None or current.state is not ConsentState.GRANTED:
            raise Conflict(f"there is no consent to {purpose!r} waiting for confirmation")
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
    session.add(event)
    session.flush()
    details: dict[str, object] = {
        "event_id": event.id,
        "channel": chan.value,
        "policy_version": event.policy_version,
        "anonymous": visitor_id is not None,
    }
    if wording_version:
        details["wording_version"] = wording_version
    audit.record(
        session,
        actor=actor,
        action=f"consent.{act.value}",
        subject_id=subject_id,
        purpose=purpose,
        details=details,
        now=now,
    )
    return event


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


def waiting_ask(
    session: Session, policy: Policy, subject_id: str, purpose: str
) -> PurposeState | None:
    """The subject's ask for double opt-in `purpose` that waits for the owner's confirmation,
    if any; it may wait under an objection, which only that confirmation lifts."""
    consent, _ = _fold(policy, _events(session, subject_id=subject_id, visitor_id=None))
    asked = consent.get(purpose)
    return asked if asked is not None and asked.state is ConsentState.GRANTED else None


def current_state(
    session: Session,
    policy: Policy,
    subject_id: str | None = None,
    *,
    visitor_id: str | None = None,
) -> dict[str, ConsentState]:
    """The state of every purpose the subject (or visitor) has said something about."""
    _identify(subject_id, visitor_id)
    states = derive_state(policy, _events(session, subject_id=subject_id, visitor_id=visitor_id))
    return {purpose: s.state for purpose, s in states.items()}


def state_for_engine(
    policy: Policy,
    states: dict[str, ConsentState],
    *,
    restricted: bool = False,
    erased: bool = False,
) -> SubjectState:
    """The decision engine's view of derived consent states.

    A purpose counts as consented when granted, or confirmed where double opt-in applies;
    withdrawn and merely signed-up consents do not count (Art. 7(3); UWG §7).
    """
    consented = {
        purpose
        for purpose, state in states.items()
        if state is ConsentState.CONFIRMED
        or (state is ConsentState.GRANTED and not needs_confirmation(policy, purpose))
    }
    objected = {purpose for purpose, state in states.items() if state is ConsentState.OBJECTED}
    return SubjectState.of(
        consented=consented, objected=objected, restricted=restricted, erased=erased
    )


def subject_state(
    session: Session,
    policy: Policy,
    subject_id: str | None = None,
    *,
    visitor_id: str | None = None,
    restricted: bool = False,
    erased: bool = False,
) -> SubjectState:
    """The `SubjectState` the decision engine needs for one subject, read from the ledger.

    `restricted` and `erased` come from the vault's markers (Art. 18, Art. 17 GDPR); the
    consent and objection sets come from here. An objected direct-marketing purpose is denied
    by the engine whatever else is set (Art. 21(3)).
    """
    return state_for_engine(
        policy,
        current_state(session, policy, subject_id, visitor_id=visitor_id),
        restricted=restricted,
        erased=erased,
    )


def history(
    session: Session, subject_id: str | None = None, *, visitor_id: str | None = None
) -> Sequence[ConsentEvent]:
    """Every event of the subject (or visitor), oldest first: the proof of Art. 7(1)."""
    _identify(subject_id, visitor_id)
    return _events(session, subject_id=subject_id, visitor_id=visitor_id)


def states_for_purpose(
    session: Session, policy: Policy, purpose: str, *, batch_size: int = 5000
) -> Iterator[tuple[str, ConsentState]]:
    """Stream `(subject_id, state)` for every subject with a say about `purpose`, by id.

    For audiences: a newsletter goes to `confirmed` subjects only, direct marketing to anyone
    not `objected` (Art. 21(3) GDPR). Only the events that can matter are read (those for
    `purpose`, and objections to any direct-marketing purpose when it is one), in batches,
    so memory stays flat however many subjects there are.
    """
    if purpose not in policy.purposes:
        raise InvalidInput(f"{purpose!r} is not a purpose of the privacy policy")
    marketing = _direct_marketing(policy)
    relevant = ConsentEvent.purpose == purpose
    if purpose in marketing:
        relevant = or_(
            relevant,
            and_(
                ConsentEvent.action == ConsentAction.OBJECT.value,
                ConsentEvent.purpose.in_(sorted(marketing)),
            ),
        )
    rows = session.scalars(
        select(ConsentEvent)
        .where(ConsentEvent.subject_id.is_not(None), relevant)
        .order_by(ConsentEvent.subject_id, ConsentEvent.at, ConsentEvent.id)
        .execution_options(yield_per=batch_size)
    )
    for subject_id, events in groupby(rows, key=lambda e: e.subject_id):
        state = derive_state(policy, events).get(purpose)
        if subject_id is not None and state is not None:
            yield subject_id, state.state


def _fold_rows(
    purpose: str,
    marketing: frozenset[str],
    rows: Iterable[Sequence[Any]],
    *,
    ask_only: bool = False,
) -> Iterator[tuple[str, ConsentState]]:
    """`derive_state(...).get(purpose)` per subject, from `(subject_id, action, purpose)` rows
    ordered by subject and time.

    The same rules as `derive_state`, for one purpose and without building an object per
    event: the audience path folds millions of events. `ask_only`: the purpose needs
    confirmation, so a grant is an ask that lifts nothing and only a confirmation does.
    `tests/newsletter/test_audience_states.py` checks that both agree.
    """
    covers_marketing = purpose in marketing
    current: str | None = None
    consent: ConsentState | None = None
    objected = False
    for subject_id, action, said_for in rows:
        if subject_id != current:
            if current is not None and (objected or consent is not None):
                yield current, ConsentState.OBJECTED if objected else cast(ConsentState, consent)
            current, consent, objected = subject_id, None, False
        if said_for == purpose:
            if action == "grant":
                if ask_only and objected:
                    consent = ConsentState.GRANTED  # an ask; the objection stands
                elif consent is not ConsentState.CONFIRMED:
                    consent = ConsentState.GRANTED
                objected = objected and ask_only  # otherwise a new grant lifts it
            elif action == "confirm":
                objected = False
                consent = ConsentState.CONFIRMED
            elif action == "withdraw":
                consent = ConsentState.WITHDRAWN
            else:
                objected = True
        elif action == "object" and covers_marketing and said_for in marketing:
            objected = True  # an objection to direct marketing covers all of it
    if current is not None and (objected or consent is not None):
        yield current, ConsentState.OBJECTED if objected else cast(ConsentState, consent)


def _relevant(policy: Policy, purpose: str) -> Any:
    marketing = _direct_marketing(policy)
    relevant = ConsentEvent.purpose == purpose
    if purpose in marketing:
        relevant = or_(
            relevant,
            and_(
                ConsentEvent.action == ConsentAction.OBJECT.value,
                ConsentEvent.purpose.in_(sorted(marketing)),
            ),
        )
    return relevant


_EVENT_COLUMNS = (ConsentEvent.subject_id, ConsentEvent.action, ConsentEvent.purpose)
_EVENT_ORDER = (ConsentEvent.subject_id, ConsentEvent.at, ConsentEvent.id)


def state_batches_for_purpose(
    session: Session, policy: Policy, purpose: str, *, batch_size: int = 5000
) -> Iterator[list[tuple[str, ConsentState]]]:
    """`states_for_purpose` a page at a time, by keyset pagination over subject ids.

    Each page is one short query for the events after the last subject seen (Core rows, no
    ORM objects), so nothing stays open while the caller commits between pages, and memory
    stays flat. A page that ends inside one subject's events leaves that subject to the
    next page. Every state comes out exactly as `derive_state` would give it.
    """
    if purpose not in policy.purposes:
        raise InvalidInput(f"{purpose!r} is not a purpose of the privacy policy")
    marketing = _direct_marketing(policy)
    ask_only = needs_confirmation(policy, purpose)
    relevant = _relevant(policy, purpose)
    limit = max(batch_size, 2) * 2
    after = ""
    while True:
        # The connection of this page's transaction: the caller may commit between pages.
        connection = session.connection()
        rows = connection.execute(
            select(*_EVENT_COLUMNS)
            .where(ConsentEvent.subject_id > after, relevant)
            .order_by(*_EVENT_ORDER)
            .limit(limit)
        ).all()
        if not rows:
            return
        complete = len(rows) < limit
        if not complete and rows[0].subject_id == rows[-1].subject_id:
            # One subject with more events than a page: read that subject whole.
            rows = connection.execute(
                select(*_EVENT_COLUMNS)
                .where(ConsentEvent.subject_id == rows[0].subject_id, relevant)
                .order_by(*_EVENT_ORDER)
            ).all()
        elif not complete:
            cut = rows[-1].subject_id
            rows = [r for r in rows if r.subject_id != cut]
        yield list(_fold_rows(purpose, marketing, rows, ask_only=ask_only))
        if complete:
            return
        after = rows[-1].subject_id


def states_for_subjects(
    session: Session, policy: Policy, purpose: str, subject_ids: Collection[str]
) -> dict[str, ConsentState]:
    """The state of `purpose` for each of `subject_ids` that has a say about it, in one query.

    For audiences whose candidates come from elsewhere (the vault's holders of an address
    collected for a direct-marketing purpose, who are in unless they objected, Art. 21(3)).
    """
    if purpose not in policy.purposes:
        raise InvalidInput(f"{purpose!r} is not a purpose of the privacy policy")
    if not subject_ids:
        return {}
    marketing = _direct_marketing(policy)
    rows = session.connection().execute(
        select(*_EVENT_COLUMNS)
        .where(ConsentEvent.subject_id.in_(list(subject_ids)), _relevant(policy, purpose))
        .order_by(*_EVENT_ORDER)
    )
    return dict(_fold_rows(purpose, marketing, rows, ask_only=needs_confirmation(policy, purpose)))
