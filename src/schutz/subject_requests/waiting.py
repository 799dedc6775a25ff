"""A request waiting for the operator's systems (`awaiting_systems`), and their answers.

When Schutz has done its part of a request, each system the policy names gets a signed
event and owes an answer; the request completes once every system has answered done or
failed. With no systems in the policy a request completes at once, as it always did.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.errors import NotFound
from schutz.policy.engine import Engine
from schutz.policy.schema import Policy
from schutz.subject_requests.models import DataRequest, RequestKind, RequestStatus
from schutz.subject_requests.records import complete, queue_mail, record_event
from schutz.subject_requests.tokens import Links
from schutz.systems import answers
from schutz.systems import events as system_events
from schutz.vault.keys import Keyring


def complete_or_wait(
    session: Session,
    policy: Policy,
    keyring: Keyring,
    request: DataRequest,
    outcome: str,
    *,
    event: str,
    actor: str,
    now: datetime,
    changed: Mapping[str, str] | None = None,
    erasing: bool = False,
    **details: Any,
) -> bool:
    """Complete `request` with `outcome`, or, when the policy names systems, send them
    `event` and wait for their answers; True when it waits."""
    tell(
        session, policy, keyring, request, event, wait=True, changed=changed, erasing=erasing,
        actor=actor, now=now,
    )  # fmt: skip
    return complete_unless_pending(session, request, outcome, actor=actor, now=now, **details)


def tell_recipients(
    session: Session,
    keyring: Keyring,
    request: DataRequest,
    *,
    categories: list[str] | None = None,
    actor: str,
    now: datetime,
) -> None:
    """Art. 19: every recipient that got the subject's data hears of this request's change
    (with `categories`, a rectification: only those that got one of them)."""
    system_events.notify_recipients(
        session, keyring, request_id=request.id, kind=request.kind,
        subject_id=request.subject_id or "", categories=categories, actor=actor, now=now,
    )  # fmt: skip


def complete_unless_pending(
    session: Session,
    request: DataRequest,
    outcome: str,
    *,
    actor: str,
    now: datetime,
    **details: Any,
) -> bool:
    """Complete `request`, unless systems asked already owe an answer: then wait for them."""
    asked = answers.pending(session, request.id)
    if not asked:
        complete(session, request, outcome, actor=actor, now=now, **details)
        return False
    request.status = RequestStatus.AWAITING_SYSTEMS.value
    request.outcome = outcome
    record_event(
        session, request, "awaiting_systems", actor=actor, now=now, systems=asked, **details
    )
    return True


def announce(
    session: Session,
    policy: Policy,
    keyring: Keyring,
    request: DataRequest,
    event: str,
    *,
    actor: str,
    now: datetime,
    **extra: Any,
) -> None:
    """Tell every system of `event` without waiting for an answer (request.verified, ...)."""
    tell(session, policy, keyring, request, event, wait=False, extra=extra or None,
         actor=actor, now=now)  # fmt: skip


def tell(
    session: Session,
    policy: Policy,
    keyring: Keyring,
    request: DataRequest,
    event: str,
    *,
    wait: bool,
    actor: str,
    now: datetime,
    **options: Any,
) -> None:
    """Queue `event` about `request` to every system of the policy (`options`: `changed`,
    `extra`, `erasing`, as `tell_systems` takes them); nothing for a request without subject."""
    if request.subject_id is not None:
        system_events.tell_systems(
            session, policy, keyring, request_id=request.id, kind=request.kind,
            subject_id=request.subject_id, event=event, wait=wait, actor=actor, now=now,
            **options,
        )  # fmt: skip


def locked_request(session: Session, request_id: str) -> DataRequest:
    """The request, its row locked (PostgreSQL) so that answers to it queue one behind another
    and the last one sees every other's answer."""
    request = session.scalars(
        select(DataRequest)
        .where(DataRequest.id == request_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if request is None:
        raise NotFound("no such request")
    return request


def answer(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    links: Links,
    request_id: str,
    system: str,
    *,
    status: str,
    note: str | None,
    actor: str,
    now: datetime,
) -> DataRequest:
    """Record `system`'s answer; the last answer completes the request. A repeat is a no-op."""
    request = locked_request(session, request_id)
    recorded = answers.record_answer(
        session, keyring, request.id, system, status, note, subject_id=request.subject_id, now=now
    )
    if recorded:
        record_event(session, request, f"system_{status}", actor=actor, now=now, system=system)
    if request.status == RequestStatus.AWAITING_SYSTEMS.value and not answers.pending(
        session, request.id
    ):
        _finish(session, rules.policy, keyring, links, request, actor=actor, now=now)
    return request


def _finish(
    session: Session,
    policy: Policy,
    keyring: Keyring,
    links: Links,
    request: DataRequest,
    *,
    actor: str,
    now: datetime,
) -> None:
    claimed = session.execute(
        update(DataRequest)
        .where(
            DataRequest.id == request.id,
            DataRequest.status == RequestStatus.AWAITING_SYSTEMS.value,
        )
        .values(status=RequestStatus.IN_PROGRESS.value)
        .execution_options(synchronize_session=False)
    )
    if cast("CursorResult[Any]", claimed).rowcount != 1:
        return  # another answer finished it
    session.refresh(request)
    rows = answers.answers_of(session, [request.id])[request.id]
    failed = [r.system for r in rows if r.status == "failed"]
    complete(
        session,
        request,
        request.outcome or "completed",
        actor=actor,
        now=now,
        systems_done=[r.system for r in rows if r.status == "done"],
        systems_failed=failed,
    )
    if failed:
        audit.record(
            session,
            actor=actor,
            action="request.systems_failed",
            subject_id=request.subject_id,
            details={"request_id": request.id, "systems": failed},
            flagged=True,
            now=now,
        )
    if request.kind == RequestKind.ACCESS.value and request.verification != "session":
        mail_export(session, policy, keyring, links, request, now=now)


def mail_export(
    session: Session,
    policy: Policy,
    keyring: Keyring,
    links: Links,
    request: DataRequest,
    *,
    now: datetime,
) -> None:
    """Mail the subject the link to their access package."""
    link = links.url("/requests/export", links.export_token(request.id))
    queue_mail(session, keyring, request, policy, "export", link=link, now=now)
