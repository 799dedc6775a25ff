"""Where a subject stands, derived from the consent ledger's events and never stored.

The ledger only grows (`service.py` appends); the state the decision engine reads is folded
from it here, so it can be shown for any past moment too (Art. 7(1) GDPR).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from schutz.consent.models import ConsentEvent
from schutz.consent.vocabulary import ConsentAction
from schutz.errors import InvalidInput
from schutz.policy.engine import SubjectState
from schutz.policy.schema import Policy


def check_purpose(policy: Policy, purpose: str) -> None:
    """Refuse a purpose the policy does not declare."""
    if purpose not in policy.purposes:
        raise InvalidInput(f"{purpose!r} is not a purpose of the privacy policy")


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


def needs_confirmation(policy: Policy, purpose: str) -> bool:
    """True when consent to `purpose` counts only once confirmed (double opt-in, UWG §7)."""
    newsletter = policy.newsletter
    return newsletter is not None and newsletter.double_opt_in and newsletter.purpose == purpose


def direct_marketing(policy: Policy) -> frozenset[str]:
    return frozenset(k for k, p in policy.purposes.items() if p.direct_marketing)


def ledger_events(
    session: Session, *, subject_id: str | None, visitor_id: str | None
) -> Sequence[ConsentEvent]:
    if subject_id is not None:
        return session.scalars(_EVENTS_OF_SUBJECT, {"who": subject_id}).all()
    return session.scalars(_EVENTS_OF_VISITOR, {"who": visitor_id}).all()


# Built once: every audited read and consent runs one of them.
_EVENTS = select(ConsentEvent).order_by(ConsentEvent.at, ConsentEvent.id)
_EVENTS_OF_SUBJECT = _EVENTS.where(ConsentEvent.subject_id == bindparam("who"))
_EVENTS_OF_VISITOR = _EVENTS.where(ConsentEvent.visitor_id == bindparam("who"))


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
    consent, objections = fold(policy, events)
    return consent | objections


Folded = tuple[dict[str, PurposeState], dict[str, PurposeState]]


def fold(policy: Policy, events: Iterable[ConsentEvent]) -> Folded:
    """Consent and objections per purpose, apart (see `derive_state`)."""
    marketing = direct_marketing(policy)
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


def identify(subject_id: str | None, visitor_id: str | None) -> None:
    if (subject_id is None) == (visitor_id is None):
        raise InvalidInput("a consent belongs to either a subject or a visitor, not both")
    if visitor_id is not None and not 8 <= len(visitor_id) <= 64:
        raise InvalidInput("a visitor id must have 8 to 64 characters")
    if subject_id is not None and not 1 <= len(subject_id) <= 32:
        raise InvalidInput("a subject id must have 1 to 32 characters")


def waiting_ask(
    session: Session, policy: Policy, subject_id: str, purpose: str
) -> PurposeState | None:
    """The subject's ask for double opt-in `purpose` that waits for the owner's confirmation,
    if any; it may wait under an objection, which only that confirmation lifts."""
    consent, _ = fold(policy, ledger_events(session, subject_id=subject_id, visitor_id=None))
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
    identify(subject_id, visitor_id)
    states = derive_state(
        policy, ledger_events(session, subject_id=subject_id, visitor_id=visitor_id)
    )
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
    identify(subject_id, visitor_id)
    return ledger_events(session, subject_id=subject_id, visitor_id=visitor_id)
