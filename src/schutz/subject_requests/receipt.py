"""Receiving a request and checking who sent it (Art. 12(2), 12(6) GDPR), then acting on it.

Nothing here reveals whether an address is known: a request gets the same answer and the
same mail either way, and only the owner of the address, by the link in that mail, learns
more. What a verified request does at once (access, objection, restriction) happens here;
erasure and corrections wait for staff (`handling.py`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from schutz.errors import Conflict, InvalidInput, NotFound
from schutz.policy.engine import Engine
from schutz.policy.schema import Policy
from schutz.subject_requests import effects, holdings, lookups, waiting
from schutz.subject_requests.deadlines import due_date
from schutz.subject_requests.models import (
    OPEN_STATUSES,
    DataRequest,
    RequestChannel,
    RequestKind,
    RequestStatus,
)
from schutz.subject_requests.records import (
    DETAILS_MAX,
    NOTE_MAX,
    SUBJECT_ACTOR,
    VERIFY_WINDOW,
    Submitted,
    clip,
    complete,
    get_request,
    parse_choice,
    queue_mail,
    record_event,
)
from schutz.subject_requests.tokens import VERIFY, VERIFY_MAX_AGE, Links
from schutz.vault import service as vault
from schutz.vault.keys import Keyring
from schutz.vault.validation import normalise_email


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
    external_ref: str | None = None,
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
    request_kind = parse_choice(kind, RequestKind, "kind")
    request_channel = parse_choice(channel, RequestChannel, "channel")
    try:
        address = normalise_email(email)
    except InvalidInput:
        raise InvalidInput("email: this is not a valid e-mail address") from None
    request = _received(
        session,
        request_kind,
        request_channel,
        RequestStatus.AWAITING_VERIFICATION,
        lang=lang,
        verify_by=now + VERIFY_WINDOW,
        actor=actor,
        now=now,
    )
    request.external_ref = clip(external_ref, 80) or None
    job = {
        "request_id": request.id,
        "email": address,
        "details": clip(details, DETAILS_MAX),
        "link": links.url("/requests/verify", links.verify_token(request.id)),
    }
    lookups.defer(session, keyring, lookups.REQUEST, job, now=now)
    return Submitted(request.id, request.status, request.due_at)


def _received(
    session: Session,
    kind: RequestKind,
    channel: RequestChannel,
    status: RequestStatus,
    *,
    lang: str,
    subject_id: str | None = None,
    details_sealed: bytes | None = None,
    verify_by: datetime | None = None,
    actor: str,
    now: datetime,
) -> DataRequest:
    """A new request, its deadline running from receipt (Art. 12(3)), with its first event."""
    request = DataRequest(
        id=uuid.uuid4().hex,
        kind=kind.value,
        channel=channel.value,
        status=status.value,
        subject_id=subject_id,
        lang=lang if lang in ("en", "de") else "en",
        details_sealed=details_sealed,
        received_at=now,
        due_at=due_date(now),
        verify_by=verify_by,
        extended_months=0,
    )
    session.add(request)
    session.flush()
    record_event(session, request, "received", actor=actor, now=now, channel=request.channel)
    return request


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
        record_event(session, request, "matched", actor="system:requests", now=now)
    queue_mail(
        session, keyring, request, policy, "verify", to=address, link=str(job["link"]), now=now
    )
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
    record_event(session, request, "verified", actor=SUBJECT_ACTOR, now=now, how="email_link")
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
    note = clip(note, NOTE_MAX)
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
    record_event(session, request, "verified", actor=actor, now=now, note=note, how=how)
    _proceed(session, rules, keyring, links, request, actor=actor, now=now)
    return request


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
        complete(session, request, "no_data", actor=actor, now=now)
        return
    kind = RequestKind(request.kind)
    waiting.announce(session, policy, keyring, request, "request.verified", actor=actor, now=now)
    if kind in (RequestKind.ACCESS, RequestKind.PORTABILITY):  # Art. 15, Art. 20
        effects.export(session, policy, keyring, links, request, actor=actor, now=now)
    elif kind is RequestKind.OBJECTION:
        effects.object_to_all(session, policy, keyring, request, subject_id, actor=actor, now=now)
    elif kind is RequestKind.RESTRICTION:
        effects.restrict(session, policy, keyring, request, subject_id, actor=actor, now=now)
    elif kind is RequestKind.ERASURE:
        record_event(session, request, "awaiting_approval", actor=actor, now=now)
    else:
        record_event(session, request, "awaiting_handling", actor=actor, now=now)


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
    """A request from the privacy centre, whose session already proves the address.

    While one of the same kind is open, that one is returned: a second click, or twenty in
    parallel (the subject's row is locked first), files nothing new for staff to handle.
    """
    request_kind = parse_choice(kind, RequestKind, "kind")
    holdings.live_subject(session, subject_id)
    vault.lock_subject(session, subject_id)
    already = session.scalar(
        select(DataRequest).where(
            DataRequest.subject_id == subject_id,
            DataRequest.kind == request_kind.value,
            DataRequest.status.in_([s.value for s in OPEN_STATUSES]),
        )
    )
    if already is not None:
        return already
    text = clip(details, DETAILS_MAX)
    request = _received(
        session,
        request_kind,
        RequestChannel.WEB,
        RequestStatus.RECEIVED,
        lang=lang,
        subject_id=subject_id,
        details_sealed=holdings.seal(session, keyring, subject_id, text) if text else None,
        actor=actor,
        now=now,
    )
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
        record_event(session, request, "expired", actor=actor, now=now)
    return [r.id for r in stale]
