"""What the privacy centre shows at a glance (Art. 12-15 GDPR): what was agreed, what may be
objected to, who received data, which requests are open, and the copy already made.

Consent and objection are kept apart on purpose: a purpose on legitimate interest is used
until the subject objects, which is not the same as having agreed to it, so the centre lists
it under "you may object to", never under "you agreed to".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from schutz.consent.service import ConsentState, current_state
from schutz.policy.schema import Policy
from schutz.subject_requests.models import (
    OPEN_STATUSES,
    DataRequest,
    RequestKind,
    RequestStatus,
)
from schutz.subject_requests.notify import DisclosureRecord, disclosures_of
from schutz.subject_requests.self_service import SWITCHES
from schutz.subject_requests.service import list_requests

EXPORT_REUSE = timedelta(days=1)
"""A copy made within this time is downloaded again rather than asked for anew."""
AGREED = (ConsentState.GRANTED, ConsentState.CONFIRMED)


@dataclass(frozen=True)
class Overview:
    agreed: tuple[str, ...]
    """Purposes needing consent that the subject has agreed to."""
    not_agreed: tuple[str, ...]
    """Purposes needing consent (with a switch) not agreed to or withdrawn."""
    may_object: tuple[str, ...]
    """Purposes on legitimate interest (with a switch) in use until the subject objects."""
    objected: tuple[str, ...]
    """Purposes the subject has objected to."""
    disclosures: tuple[DisclosureRecord, ...]
    open_requests: tuple[DataRequest, ...]
    closed_requests: tuple[DataRequest, ...]


def build_overview(session: Session, policy: Policy, subject_id: str, *, now: datetime) -> Overview:
    """The centre's overview for `subject_id`, read from the ledger and the request records."""
    states = current_state(session, policy, subject_id)
    agreed: list[str] = []
    not_agreed: list[str] = []
    may_object: list[str] = []
    objected: list[str] = []
    for key, off_action in SWITCHES:
        if key not in policy.purposes:
            continue
        state = states.get(key)
        if state == ConsentState.OBJECTED:
            objected.append(key)
        elif off_action == "withdraw" or policy.purposes[key].requires_consent:
            (agreed if state in AGREED else not_agreed).append(key)
        else:
            may_object.append(key)
    for key, state in states.items():  # agreed purposes the centre has no switch for
        purpose = policy.purposes.get(key)
        if (
            state in AGREED
            and key not in agreed
            and purpose is not None
            and purpose.requires_consent
        ):
            agreed.append(key)
    requests = list_requests(session, subject_id=subject_id, now=now)
    open_values = {s.value for s in OPEN_STATUSES}
    return Overview(
        agreed=tuple(agreed),
        not_agreed=tuple(not_agreed),
        may_object=tuple(may_object),
        objected=tuple(objected),
        disclosures=tuple(disclosures_of(session, subject_id)),
        open_requests=tuple(r for r in requests if r.status in open_values),
        closed_requests=tuple(r for r in requests if r.status not in open_values),
    )


def recent_export(session: Session, subject_id: str, *, now: datetime) -> DataRequest | None:
    """The subject's access request answered within `EXPORT_REUSE`, if there is one: its copy
    is downloaded again instead of a new request (and mail) for every click."""
    found: Sequence[DataRequest] = session.scalars(
        select(DataRequest)
        .where(
            DataRequest.subject_id == subject_id,
            DataRequest.kind == RequestKind.ACCESS.value,
            DataRequest.status == RequestStatus.COMPLETED.value,
            DataRequest.completed_at >= now - EXPORT_REUSE,
        )
        .order_by(DataRequest.completed_at.desc())
        .limit(1)
    ).all()
    return found[0] if found else None
