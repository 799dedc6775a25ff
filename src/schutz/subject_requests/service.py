"""Submitting, verifying and answering data-subject requests (Art. 12, 15-21 GDPR, C11).

Every function flushes and never commits; it writes the request's history, the audit entry
and any mail (through the outbox) in the caller's transaction. Nothing here reveals whether
an address is known: a request gets the same answer and the same mail either way, and only
the owner of the address, by the link in that mail, learns more.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.consent.service import record_consent
from schutz.errors import Conflict, Denied, InvalidInput, NotFound
from schutz.mail.service import enqueue_mail
from schutz.policy.engine import Engine
from schutz.policy.schema import Policy
from schutz.subject_requests import holdings, lookups, notify
from schutz.subject_requests.deadlines import MAX_EXTENSION_MONTHS, due_date
from schutz.subject_requests.mails import compose, format_date
from schutz.subject_requests.models import (
    OPEN_STATUSES,
    DataRequest,
    RequestChannel,
    RequestEvent,
    RequestKind,
    RequestStatus,
)
from schutz.subject_requests.tokens import VERIFY, VERIFY_MAX_AGE, Links
from schutz.vault import service as vault
from schutz.vault.keys import Keyring
from schutz.vault.validation import normalise_email

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


def _parse(value: str, kind: type[StrEnum], what: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(v.value for v in kind)
        raise InvalidInput(f"{what}: use one of {allowed}") from None


def _text(value: str | None, limit: int) -> str:
    return (value or "").strip()[:limit]


def _event(
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


def _mail(
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
) -> Sequence[DataRequest]:
    """Requests, the most urgent first; `overdue` keeps open ones past their due date."""
    query = select(DataRequest).order_by(DataRequest.due_at, DataRequest.id).limit(limit)
    if status:
        query = query.where(DataRequest.status == _parse(status, RequestStatus, "status").value)
    if kind:
        query = query.where(DataRequest.kind == _parse(kind, RequestKind, "kind").value)
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


# --- receipt and identity check ----------------------------------------------------------


def _known_subject(session: Session, keyring: Keyring, address: str, now: datetime) -> str | None:
    try:
        return vault.find_subject(session, keyring, address, actor="system:requests", now=now)
    except NotFound:
        return None


class LinkUsed(Conflict):
    """The verification link was used already; it confirms once and mints nothing more."""


def submit(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    links: Links,
    *,
    kind: str,
    email: str,
    channel: str,
    details: str | None = None,
    lang: str = "en",
    actor: str,
    now: datetime,
) -> Submitted:
    """Record a request made for `email`; the worker then mails that address a link.

    The answer is the same, and as quick, whether or not the address is known: nothing
    here touches the vault. The address, the text and the link wait in a sealed job
    (`lookups`) that `match_request` handles after the answer has left; the confirmation
    goes to `email` alone. The deadline of Art. 12(3) runs from receipt; an unconfirmed
    request lapses after seven days. This is the entry point of the API, the public form
    and the contact form.
    """
    request_kind = _parse(kind, RequestKind, "kind")
    request_channel = _parse(channel, RequestChannel, "channel")
    try:
        address = normalise_email(email)
    except InvalidInput:
        raise InvalidInput("email: this is not a valid e-mail address") from None
    request = DataRequest(
        id=uuid.uuid4().hex,
        kind=request_kind.value,
        channel=request_channel.value,
        status=RequestStatus.AWAITING_VERIFICATION.value,
        subject_id=None,
        lang=lang if lang in ("en", "de") else "en",
        details_sealed=None,
        received_at=now,
        due_at=due_date(now),
        verify_by=now + VERIFY_WINDOW,
        extended_months=0,
    )
    session.add(request)
    session.flush()
    _event(session, request, "received", actor=actor, now=now, channel=request.channel)
    job = {
        "request_id": request.id,
        "email": address,
        "details": _text(details, DETAILS_MAX),
        "link": links.url("/requests/verify", links.verify_token(request.id)),
    }
    lookups.defer(session, keyring, lookups.REQUEST, job, now=now)
    return Submitted(request.id, request.status, request.due_at)


def match_request(
    session: Session, policy: Policy, keyring: Keyring, job: Mapping[str, Any], *, now: datetime
) -> bool:
    """The deferred half of `submit`: tie the request to the subject the address belongs
    to (sealing its text under that subject's key) and mail the confirmation link.

    Runs in the worker; returns whether the address was known. A request closed meanwhile
    (expired) gets no mail.
    """
    request = session.get(DataRequest, str(job["request_id"]))
    if request is None or request.status != RequestStatus.AWAITING_VERIFICATION.value:
        return False
    address = str(job["email"])
    subject_id = _known_subject(session, keyring, address, now)
    if subject_id is not None:
        request.subject_id = subject_id
        text = str(job.get("details") or "")
        if text:
            request.details_sealed = holdings.seal(session, keyring, subject_id, text)
        _event(session, request, "matched", actor="system:requests", now=now)
    _mail(session, keyring, request, policy, "verify", to=address, link=str(job["link"]), now=now)
    return subject_id is not None


def verify_with_link(
    session: Session, rules: Engine, keyring: Keyring, links: Links, token: str, *, now: datetime
) -> DataRequest:
    """The owner of the address opened the mailed link and confirmed: act on the request.

    The link works once: one conditional update moves the request from awaiting
    verification to in progress and must touch exactly one row, so parallel or repeated
    confirmations act once. A second use raises `LinkUsed`, and mints no export link.
    """
    request_id = links.request_of(VERIFY, token, max_age=VERIFY_MAX_AGE)
    request = get_request(session, request_id)
    claimed = session.execute(
        update(DataRequest)
        .where(
            DataRequest.id == request.id,
            DataRequest.status == RequestStatus.AWAITING_VERIFICATION.value,
            DataRequest.verified_at.is_(None),
        )
        .values(verified_at=now, verification="email_link", status=RequestStatus.IN_PROGRESS.value)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        session.refresh(request)
        if request.verified_at is not None:
            raise LinkUsed("this link has been used already")
        raise Conflict("this request can no longer be confirmed; please make it again")
    session.refresh(request)
    _event(session, request, "verified", actor=SUBJECT_ACTOR, now=now, how="email_link")
    _proceed(session, rules, keyring, links, request, actor=SUBJECT_ACTOR, now=now)
    return request


def verify_manually(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    links: Links,
    request_id: str,
    *,
    note: str,
    actor: str,
    now: datetime,
) -> DataRequest:
    """Staff confirm the requester's identity by other means (a signed letter, a fax with
    details only the customer knows, a call-back); the note says how, without personal data."""
    request = get_request(session, request_id)
    if request.status != RequestStatus.AWAITING_VERIFICATION.value:
        raise Conflict("only a request awaiting verification can be verified")
    note = _text(note, NOTE_MAX)
    if not note:
        raise InvalidInput("note: say how the identity was checked")
    return _verified(
        session, rules, keyring, links, request, how="manual", actor=actor, note=note, now=now
    )


def _verified(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    links: Links,
    request: DataRequest,
    *,
    how: str,
    actor: str,
    now: datetime,
    note: str | None = None,
) -> DataRequest:
    request.verified_at = now
    request.verification = how
    request.status = RequestStatus.IN_PROGRESS.value
    _event(session, request, "verified", actor=actor, now=now, note=note, how=how)
    _proceed(session, rules, keyring, links, request, actor=actor, now=now)
    return request


def _complete(
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
    _event(session, request, "completed", actor=actor, now=now, outcome=outcome, **details)


def _proceed(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    links: Links,
    request: DataRequest,
    *,
    actor: str,
    now: datetime,
) -> None:
    """What a verified request does at once; erasure waits for the DPO, corrections for
    support. With no data held, the answer is just that (Art. 15(1): "whether or not")."""
    policy = rules.policy
    subject_id = request.subject_id
    if subject_id is None or not holdings.is_live(session, subject_id):
        _complete(session, request, "no_data", actor=actor, now=now)
        return
    kind = RequestKind(request.kind)
    if kind is RequestKind.ACCESS:
        _complete(session, request, "export_ready", actor=actor, now=now)
        if request.verification != "session":
            # From the privacy centre the copy opens at once, by a link bound to the
            # session; a mailed link would outlive the sign-out.
            link = links.url("/requests/export", links.export_token(request.id))
            _mail(session, keyring, request, policy, "export", link=link, now=now)
    elif kind is RequestKind.OBJECTION:
        purposes = [k for k, p in policy.purposes.items() if p.objectable]
        for purpose in purposes:
            record_consent(
                session,
                policy,
                subject_id=subject_id,
                purpose=purpose,
                action="object",
                channel=request.channel,
                evidence=f"request:{request.id}",
                actor=actor,
                now=now,
            )
        _complete(session, request, "objected", actor=actor, now=now, purposes=purposes)
        _mail(session, keyring, request, policy, "done", note="", now=now)
    elif kind is RequestKind.RESTRICTION:
        vault.restrict_subject(
            session, subject_id, actor=actor, reason="requested_by_subject", now=now
        )
        _complete(session, request, "restricted", actor=actor, now=now)
        _mail(session, keyring, request, policy, "done", note="", now=now)
    elif kind is RequestKind.ERASURE:
        _event(session, request, "awaiting_approval", actor=actor, now=now)
    else:
        _event(session, request, "awaiting_handling", actor=actor, now=now)


def submit_verified(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    links: Links,
    *,
    subject_id: str,
    kind: str,
    details: str | None = None,
    lang: str = "en",
    actor: str,
    now: datetime,
) -> DataRequest:
    """A request from the privacy centre, whose session already proves the address."""
    request_kind = _parse(kind, RequestKind, "kind")
    holdings.live_subject(session, subject_id)
    text = _text(details, DETAILS_MAX)
    request = DataRequest(
        id=uuid.uuid4().hex,
        kind=request_kind.value,
        channel=RequestChannel.WEB.value,
        status=RequestStatus.RECEIVED.value,
        subject_id=subject_id,
        lang=lang if lang in ("en", "de") else "en",
        details_sealed=holdings.seal(session, keyring, subject_id, text) if text else None,
        received_at=now,
        due_at=due_date(now),
        extended_months=0,
    )
    session.add(request)
    session.flush()
    _event(session, request, "received", actor=actor, now=now, channel=request.channel)
    return _verified(session, rules, keyring, links, request, how="session", actor=actor, now=now)


def expire_unverified(session: Session, *, actor: str, now: datetime) -> list[str]:
    """Close requests nobody confirmed in time; nothing was done for them, nothing is kept
    but the record that they came (their sealed text is dropped)."""
    stale = session.scalars(
        select(DataRequest).where(
            DataRequest.status == RequestStatus.AWAITING_VERIFICATION.value,
            DataRequest.verify_by < now,
        )
    ).all()
    for request in stale:
        request.status = RequestStatus.EXPIRED.value
        request.completed_at = now
        request.details_sealed = None
        _event(session, request, "expired", actor=actor, now=now)
    return [r.id for r in stale]


# --- staff actions ------------------------------------------------------------------------


def _open_request(session: Session, request_id: str) -> DataRequest:
    request = get_request(session, request_id)
    if not is_open(request):
        raise Conflict(f"this request is already {request.status}")
    return request


def assign(session: Session, request_id: str, *, actor: str, now: datetime) -> DataRequest:
    """`actor` takes the request on."""
    request = _open_request(session, request_id)
    request.handler = actor
    _event(session, request, "assigned", actor=actor, now=now)
    return request


def approve_erasure(
    session: Session, rules: Engine, keyring: Keyring, request_id: str, *, actor: str, now: datetime
) -> DataRequest:
    """The DPO approves a verified erasure request: crypto-shred the subject (Art. 17).

    Under a running legal hold (invoices: HGB §257, AO §147) the vault erases what it may
    and restricts the rest until the hold lapses; the subject is told what is kept, why and
    until when. The mail is queued before the key is destroyed, while the address exists.
    """
    request = _open_request(session, request_id)
    if request.kind != RequestKind.ERASURE.value:
        raise Conflict("only an erasure request needs approval")
    if request.verified_at is None:
        raise Conflict("the requester's identity has not been verified yet")
    policy = rules.policy
    request.approved_by, request.approved_at = actor, now
    _event(session, request, "approved", actor=actor, now=now)
    if request.subject_id is None or not holdings.is_live(session, request.subject_id):
        _complete(session, request, "no_data", actor=actor, now=now)
        return request
    address = holdings.subject_email(session, keyring, request.subject_id)
    holds = holdings.running_holds(session, request.subject_id, now.date())
    result = vault.erase_subject(session, policy, request.subject_id, actor=actor, now=now)
    if result.erased:
        _mail(session, keyring, request, policy, "erased", to=address, now=now)
        _complete(session, request, "erased", actor=actor, now=now)
        return request
    request.held_until = result.held_until
    kept = [policy.category_name(policy.fields[f], request.lang) for f in result.kept]  # type: ignore[index]
    why = "; ".join(
        f"{policy.legal_holds[h].name.get(request.lang)} ({policy.legal_holds[h].basis})"
        for h in sorted({h.hold for h in holds})
        if h in policy.legal_holds
    )
    until = format_date(result.held_until or now.date(), request.lang)
    _mail(
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
    _complete(
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
    request = _open_request(session, request_id)
    reason = _text(reason, NOTE_MAX)
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
    _event(
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
    _mail(session, keyring, request, rules.policy, "extended", reason=reason, due=due, now=now)
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
    request = _open_request(session, request_id)
    reason = _text(reason, NOTE_MAX)
    if not reason:
        raise InvalidInput("reason: a refusal must give its reason")
    request.status = RequestStatus.REFUSED.value
    request.refusal_reason = reason
    request.completed_at = now
    _event(session, request, "refused", actor=actor, now=now, note=reason)
    if request.verified_at is not None:
        _mail(session, keyring, request, rules.policy, "refused", reason=reason, now=now)
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
    request = _open_request(session, request_id)
    if request.kind not in (RequestKind.RECTIFICATION.value, RequestKind.COMPLETION.value):
        raise Conflict("only a rectification or completion request changes data")
    if request.verified_at is None or request.subject_id is None:
        raise Conflict("the requester's identity has not been verified yet")
    if not data:
        raise InvalidInput("data: give at least one field")
    before = holdings.subject_email(session, keyring, request.subject_id)
    fields = vault.rectify(session, rules, keyring, request.subject_id, data, actor=actor, now=now)
    recipients = notify.recipients_to_notify(session, rules.policy, request.subject_id, fields)
    _complete(
        session,
        request,
        "rectified",
        actor=actor,
        now=now,
        fields=list(fields),
        notify=[r.recipient for r in recipients],
    )
    _mail(session, keyring, request, rules.policy, "done", note="", now=now)
    if before is not None and before != holdings.subject_email(
        session, keyring, request.subject_id
    ):
        # The address the data was held under hears of the change too: a request filed and
        # verified by others must not move an account to a new address unnoticed.
        _mail(session, keyring, request, rules.policy, "done", note="", now=now, to=before,
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
