"""A request's record: reading requests, writing their history, and mailing the requester.

The pieces every step of a data-subject request shares (Art. 12 GDPR): the request's
history and audit entry, written together; the mail to the requester, sealed under the
subject's key while it lives; and the reads the staff queue and the API make.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.errors import Conflict, InvalidInput, NotFound
from schutz.mail.service import enqueue_mail
from schutz.policy.schema import Policy
from schutz.subject_requests import holdings, notify
from schutz.subject_requests.mails import compose
from schutz.subject_requests.models import (
    OPEN_STATUSES,
    DataRequest,
    RequestEvent,
    RequestKind,
    RequestStatus,
)
from schutz.subject_requests.tokens import VERIFY_MAX_AGE
from schutz.vault.keys import Keyring

DETAILS_MAX = 4000


NOTE_MAX = 1000


VERIFY_WINDOW = timedelta(seconds=VERIFY_MAX_AGE)


SUBJECT_ACTOR = "subject"


@dataclass(frozen=True, slots=True)
class Submitted:
    """The answer to a new request: the same whether or not the address is known."""

    request_id: str
    status: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Rectified:
    """What a rectification changed, and who received the old values (Art. 19 GDPR)."""

    fields: tuple[str, ...]
    notify: tuple[notify.Recipient, ...]


def controller_line(policy: Policy) -> str:
    c = policy.controller
    return ", ".join((c.name, *c.address.lines()))


def parse_choice(value: str, kind: type[StrEnum], what: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(v.value for v in kind)
        raise InvalidInput(f"{what}: use one of {allowed}") from None


def clip(value: str | None, limit: int) -> str:
    return (value or "").strip()[:limit]


def record_event(
    session: Session,
    request: DataRequest,
    action: str,
    *,
    actor: str,
    now: datetime,
    note: str | None = None,
    **details: Any,
) -> None:
    session.add(
        RequestEvent(
            request_id=request.id, at=now, actor=actor, action=action, note=note, details=details
        )
    )
    audit.record(
        session,
        actor=actor,
        action=f"request.{action}",
        subject_id=request.subject_id,
        details={"request_id": request.id, "kind": request.kind, **details},
        now=now,
    )
    session.flush()


def queue_mail(
    session: Session,
    keyring: Keyring,
    request: DataRequest,
    policy: Policy,
    name: str,
    *,
    now: datetime,
    to: str | None = None,
    copy: str = "",
    **values: str,
) -> bool:
    """Queue mail `name` to `to`, or else to the subject's address in the vault; `copy`
    tells apart a second copy of the same mail to another address."""
    if to is None and request.subject_id is not None:
        to = holdings.subject_email(session, keyring, request.subject_id)
    if to is None:
        return False
    mail = compose(
        name,
        request.lang,
        request_id=request.id,
        controller=controller_line(policy),
        kind=request.kind,
        **values,
    )
    enqueue_mail(
        session,
        to=to,
        subject=mail.subject,
        body=mail.body,
        idempotency_key=f"request-{name}{copy}:{request.id}:{now.isoformat()}",
        now=now,
        subject_id=_sealed_for(session, request, name),
        keyring=keyring,
    )
    return True


_LAST_WORDS = frozenset({"erased", "erasure_held"})


def _sealed_for(session: Session, request: DataRequest, name: str) -> str | None:
    """The subject to seal a request's mail under: its own, while not erased.

    Sealed, the address and text are shredded with the subject (Art. 17 GDPR). Any other
    mail, and the answer to an approved erasure, is sealed under a key of its own that goes
    with the outbox row, which the next retention run deletes once the mail is out: after
    an erasure no copy of the mail may stay, even while a legal hold keeps some fields.
    """
    subject_id = request.subject_id
    if name in _LAST_WORDS or subject_id is None:
        return None
    return subject_id if holdings.is_live(session, subject_id) else None


def get_request(session: Session, request_id: str) -> DataRequest:
    request = session.get(DataRequest, request_id) if len(request_id) <= 32 else None
    if request is None:
        raise NotFound("no such request")
    return request


def history(session: Session, request_id: str) -> Sequence[RequestEvent]:
    return session.scalars(
        select(RequestEvent)
        .where(RequestEvent.request_id == request_id)
        .order_by(RequestEvent.at, RequestEvent.id)
    ).all()


def list_requests(
    session: Session,
    *,
    status: str | None = None,
    kind: str | None = None,
    overdue: bool = False,
    subject_id: str | None = None,
    now: datetime,
    limit: int = 1000,
    after: tuple[datetime, str] | None = None,
) -> Sequence[DataRequest]:
    """Requests, the most urgent first; `overdue` keeps open ones past their due date.

    `after` is a keyset cursor: the (due_at, id) of the last request of the previous page.
    """
    query = select(DataRequest).order_by(DataRequest.due_at, DataRequest.id).limit(limit)
    if after is not None:
        query = query.where(
            or_(
                DataRequest.due_at > after[0],
                and_(DataRequest.due_at == after[0], DataRequest.id > after[1]),
            )
        )
    if status:
        query = query.where(
            DataRequest.status == parse_choice(status, RequestStatus, "status").value
        )
    if kind:
        query = query.where(DataRequest.kind == parse_choice(kind, RequestKind, "kind").value)
    if overdue:
        query = query.where(
            DataRequest.status.in_([s.value for s in OPEN_STATUSES]), DataRequest.due_at < now
        )
    if subject_id is not None:
        query = query.where(DataRequest.subject_id == subject_id)
    return session.scalars(query).all()


def is_open(request: DataRequest) -> bool:
    return request.status in {s.value for s in OPEN_STATUSES}


def is_overdue(request: DataRequest, now: datetime) -> bool:
    return is_open(request) and now > request.due_at


def details_of(session: Session, keyring: Keyring, request: DataRequest) -> str | None:
    """The requester's free text, for staff handling it; None once the subject is erased."""
    if request.details_sealed is None or request.subject_id is None:
        return None
    return holdings.unseal(session, keyring, request.subject_id, request.details_sealed)


def complete(
    session: Session,
    request: DataRequest,
    outcome: str,
    *,
    actor: str,
    now: datetime,
    **details: Any,
) -> None:
    request.status = RequestStatus.COMPLETED.value
    request.completed_at = now
    request.outcome = outcome
    record_event(session, request, "completed", actor=actor, now=now, outcome=outcome, **details)


def open_request(session: Session, request_id: str) -> DataRequest:
    request = get_request(session, request_id)
    if not is_open(request):
        raise Conflict(f"this request is already {request.status}")
    return request
