"""What staff do with an open request: take it on, approve an erasure, extend, refuse, correct.

Each step writes the request's history and audit entry in the caller's transaction and tells
the subject by mail where the GDPR says so (Art. 12(3), 12(4), 17, 19).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.errors import Conflict, Denied, InvalidInput
from schutz.policy.engine import Engine
from schutz.policy.schema import Policy
from schutz.subject_requests import holdings, notify, waiting
from schutz.subject_requests.deadlines import MAX_EXTENSION_MONTHS, due_date
from schutz.subject_requests.mails import format_date
from schutz.subject_requests.models import (
    OPEN_STATUSES,
    AccountToken,
    DataRequest,
    RequestKind,
    RequestStatus,
)
from schutz.subject_requests.records import (
    NOTE_MAX,
    Rectified,
    clip,
    complete,
    is_open,
    open_request,
    queue_mail,
    record_event,
)
from schutz.systems import answers
from schutz.vault import service as vault
from schutz.vault.keys import Keyring


def assign(session: Session, request_id: str, *, actor: str, now: datetime) -> DataRequest:
    """`actor` takes the request on."""
    request = open_request(session, request_id)
    request.handler = actor
    record_event(session, request, "assigned", actor=actor, now=now)
    return request


def _claim_approval(session: Session, request: DataRequest, *, actor: str, now: datetime) -> None:
    """Mark the request approved with an update that must touch exactly one row, so that
    parallel approvals erase and answer once (invariant 7); the others get `Conflict`."""
    result = session.execute(
        update(DataRequest)
        .where(
            DataRequest.id == request.id,
            DataRequest.approved_at.is_(None),
            DataRequest.status.in_([s.value for s in OPEN_STATUSES]),
        )
        .values(approved_by=actor, approved_at=now)
        .execution_options(synchronize_session=False)
    )
    if cast("CursorResult[Any]", result).rowcount != 1:
        raise Conflict("this request has already been approved")
    session.refresh(request)


def _approvable(session: Session, request_id: str) -> DataRequest:
    request = open_request(session, request_id)
    if request.kind != RequestKind.ERASURE.value:
        raise Conflict("only an erasure request needs approval")
    if request.verified_at is None:
        raise Conflict("the requester's identity has not been verified yet")
    return request


def _forget_systems_parts(session: Session, subject_id: str) -> None:
    """What the systems gave for the subject's requests: no legal hold covers it."""
    ids = session.scalars(select(DataRequest.id).where(DataRequest.subject_id == subject_id))
    answers.forget_requests(session, list(ids))


def approve_erasure(
    session: Session, rules: Engine, keyring: Keyring, request_id: str, *, actor: str, now: datetime
) -> DataRequest:
    """The DPO approves a verified erasure request: crypto-shred the subject (Art. 17).

    Under a running legal hold (invoices: HGB §257, AO §147) the vault erases what it may
    and restricts the rest until the hold lapses; the subject is told what is kept, why and
    until when. The mail is queued before the key is destroyed, while the address exists.
    """
    request = _approvable(session, request_id)
    policy = rules.policy
    _claim_approval(session, request, actor=actor, now=now)
    record_event(session, request, "approved", actor=actor, now=now)
    if request.subject_id is None or not holdings.is_live(session, request.subject_id):
        complete(session, request, "no_data", actor=actor, now=now)
        return request
    address = holdings.subject_email(session, keyring, request.subject_id)
    holds = holdings.running_holds(session, request.subject_id, now.date())
    _tell_of_erasure(session, policy, keyring, request, actor=actor, now=now)
    result = vault.erase_subject(session, policy, request.subject_id, actor=actor, now=now)
    _forget_systems_parts(session, request.subject_id)
    if result.erased:
        # Its sign-in links and sessions open nothing any more; none should say it signed in.
        session.execute(delete(AccountToken).where(AccountToken.subject_id == request.subject_id))
        queue_mail(session, keyring, request, policy, "erased", to=address, now=now)
        waiting.complete_unless_pending(session, request, "erased", actor=actor, now=now)
        return request
    request.held_until = result.held_until
    kept = [policy.field_label(f, request.lang) for f in result.kept]
    why = "; ".join(
        f"{policy.legal_holds[h].name.get(request.lang)} ({policy.legal_holds[h].basis})"
        for h in sorted({h.hold for h in holds})
        if h in policy.legal_holds
    )
    until = format_date(result.held_until or now.date(), request.lang)
    queue_mail(
        session,
        keyring,
        request,
        policy,
        "erasure_held",
        to=address,
        kept=", ".join(kept) or "-",
        why=why or "-",
        until=until,
        now=now,
    )
    waiting.complete_unless_pending(
        session,
        request,
        "erasure_held",
        actor=actor,
        now=now,
        kept=list(result.kept),
        holds=sorted({h.hold for h in holds}),
        held_until=(result.held_until or now.date()).isoformat(),
    )
    return request


def _tell_of_erasure(
    session: Session,
    policy: Policy,
    keyring: Keyring,
    request: DataRequest,
    *,
    actor: str,
    now: datetime,
) -> None:
    """Before the key is shredded: the systems get `erasure.approved` (sealed under a key of
    its own, so that it still leaves) and every recipient an Art. 19 notice."""
    waiting.tell_recipients(session, keyring, request, actor=actor, now=now)
    waiting.tell(
        session, policy, keyring, request, "erasure.approved", wait=True, erasing=True,
        actor=actor, now=now,
    )  # fmt: skip


def extend(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    request_id: str,
    *,
    months: int,
    reason: str,
    actor: str,
    now: datetime,
) -> DataRequest:
    """Extend the deadline by up to two further months in all, with a reason the subject is
    told at once; allowed only within the first month after receipt (Art. 12(3) GDPR)."""
    request = open_request(session, request_id)
    reason = clip(reason, NOTE_MAX)
    if not reason:
        raise InvalidInput("reason: say why more time is needed; the subject is told")
    total = request.extended_months + months
    if months < 1 or total > MAX_EXTENSION_MONTHS:
        raise InvalidInput("months: the deadline may grow by two further months at most")
    if now > due_date(request.received_at):
        raise Conflict("an extension must be told within one month of receipt (Art. 12(3))")
    request.extended_months = total
    request.extension_reason = reason
    request.due_at = due_date(request.received_at, total)
    record_event(
        session,
        request,
        "extended",
        actor=actor,
        now=now,
        note=reason,
        months=months,
        due_at=request.due_at.isoformat(),
    )
    due = format_date(request.due_at.date(), request.lang)
    queue_mail(session, keyring, request, rules.policy, "extended", reason=reason, due=due, now=now)
    return request


def refuse(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    request_id: str,
    *,
    reason: str,
    actor: str,
    now: datetime,
) -> DataRequest:
    """Refuse with a reason the subject is told, with their remedies (Art. 12(4) GDPR)."""
    request = open_request(session, request_id)
    reason = clip(reason, NOTE_MAX)
    if not reason:
        raise InvalidInput("reason: a refusal must give its reason")
    request.status = RequestStatus.REFUSED.value
    request.refusal_reason = reason
    request.completed_at = now
    record_event(session, request, "refused", actor=actor, now=now, note=reason)
    if request.verified_at is not None:
        queue_mail(session, keyring, request, rules.policy, "refused", reason=reason, now=now)
    return request


def apply_rectification(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    request_id: str,
    data: Mapping[str, str],
    *,
    actor: str,
    now: datetime,
) -> Rectified:
    """Correct or complete the subject's data (Art. 16) and list the recipients who received
    the old values, to be told of the change (Art. 19 GDPR)."""
    request = open_request(session, request_id)
    if request.kind not in (RequestKind.RECTIFICATION.value, RequestKind.COMPLETION.value):
        raise Conflict("only a rectification or completion request changes data")
    if request.verified_at is None or request.subject_id is None:
        raise Conflict("the requester's identity has not been verified yet")
    if not data:
        raise InvalidInput("data: give at least one field")
    before = holdings.subject_email(session, keyring, request.subject_id)
    fields = vault.rectify(session, rules, keyring, request.subject_id, data, actor=actor, now=now)
    recipients = notify.recipients_to_notify(session, rules.policy, request.subject_id, fields)
    categories = rules.policy.field_categories  # custom fields too
    waiting.tell_recipients(
        session, keyring, request, categories=[categories[f] for f in fields if f in categories],
        actor=actor, now=now,
    )  # fmt: skip
    waiting.complete_or_wait(
        session,
        rules.policy,
        keyring,
        request,
        "rectified",
        event="rectification.applied",
        actor=actor,
        now=now,
        changed={f: str(data[f]) for f in fields if f in data},
        fields=list(fields),
        notify=[r.recipient for r in recipients],
    )
    queue_mail(session, keyring, request, rules.policy, "done", note="", now=now)
    if before is not None and before != holdings.subject_email(
        session, keyring, request.subject_id
    ):
        # The address the data was held under hears of the change too: a request filed and
        # verified by others must not move an account to a new address unnoticed.
        queue_mail(session, keyring, request, rules.policy, "done", note="", now=now, to=before,
              copy=":previous-address")  # fmt: skip
    return Rectified(tuple(fields), tuple(recipients))


RECTIFICATION_AUTHORITY = "rectification_authority"


def check_rectification(
    session: Session, subject_id: str, request_id: str | None, *, actor: str, now: datetime
) -> str:
    """The id of the verified, open rectification or completion request of `subject_id` that
    a change carries out; any other change is refused, audited and flagged (invariant 1)."""
    request = session.get(DataRequest, request_id) if request_id else None
    fits = (
        request is not None
        and request.subject_id == subject_id
        and request.kind in (RequestKind.RECTIFICATION.value, RequestKind.COMPLETION.value)
        and request.verified_at is not None
        and is_open(request)
    )
    if fits and request_id is not None:
        return request_id
    audit.record(
        session,
        actor=actor,
        action="vault.rectify_refused",
        subject_id=subject_id,
        details={"rule": RECTIFICATION_AUTHORITY, "request_id": request_id},
        flagged=True,
        now=now,
    )
    raise Denied(
        "a stored value changes only by carrying out this subject's verified rectification"
        " or completion request: send its request_id",
        rule=RECTIFICATION_AUTHORITY,
    )
