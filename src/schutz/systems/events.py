"""Request events to the operator's systems and Art. 19 notices to recipients, via the outbox.

Each event or notice is a JSON body with its own `id`, signed on delivery like a disclosure
(`disclosures.verify`: `Schutz-Signature`, the id as Idempotency-Key). The body travels
sealed in the outbox row: under the subject's key while the subject lives on, under a key of
its own when the subject is being erased in the same transaction (the event must still reach
the system that has to erase too). A system hears only the identifiers its policy categories
cover; a recipient hears only order references and category names it already received.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.disclosures.service import subject_disclosures
from schutz.mail.service import enqueue, seal_payload
from schutz.mail.vocabulary import OutboxKind
from schutz.policy.schema import Policy, System
from schutz.systems.models import Answer, RequestNotice, RequestSystem, Target
from schutz.vault import service as vault
from schutz.vault.keys import Keyring

EVENTS = (
    "request.verified",
    "access.collect",
    "erasure.approved",
    "rectification.applied",
    "restriction.applied",
    "consent.changed",
)
NOTICE_OF = {
    "erasure": "erasure",
    "rectification": "rectification",
    "completion": "rectification",
    "restriction": "restriction",
}


def covers(held: Iterable[str], category: str) -> bool:
    """Whether a category list names `category` or a parent of it."""
    return any(category == c or category.startswith(c + ".") for c in held)


def _queue(
    session: Session,
    keyring: Keyring,
    *,
    target: tuple[Target, str],
    event: str,
    request_id: str | None,
    subject_id: str | None,
    body: Mapping[str, Any],
    details: dict[str, Any],
    sealed_for: str | None,
    now: datetime,
) -> RequestNotice:
    notice_id, row_id = secrets.token_hex(16), secrets.token_hex(16)
    full = {"id": notice_id, "type": event, "created_at": now.isoformat(), **body}
    text = json.dumps(full, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    payload = {"notice_id": notice_id, "body": text}
    outbox = enqueue(
        session,
        kind=OutboxKind.WEBHOOK,
        payload=seal_payload(session, keyring, payload, subject_id=sealed_for, ref=row_id),
        idempotency_key=f"notice:{notice_id}",
        now=now,
        row_id=row_id,
    )
    row = RequestNotice(
        id=notice_id,
        request_id=request_id,
        subject_id=subject_id,
        target_kind=target[0].value,
        target=target[1],
        event=event,
        details=details,
        outbox_id=outbox.id,
        attempts=0,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def _overlaps(wanted: set[str], category: str) -> bool:
    return any(covers([w], category) or covers([category], w) for w in wanted)


def _subject_ref(
    policy: Policy, spec: System, subject_id: str, values: Mapping[str, str]
) -> dict[str, str]:
    """The subject id, and the identifiers whose categories the system holds (Art. 5(1)(c))."""
    ref = {"subject_id": subject_id}
    for field, value in values.items():
        category = policy.fields.get(field)  # type: ignore[call-overload]
        if category is not None and covers(spec.categories, category):
            ref[field] = value
    return ref


def _changed_for(
    policy: Policy, spec: System, subject_id: str, changed: Mapping[str, str]
) -> dict[str, str]:
    """The corrected values of the system's own categories (a rectification event)."""
    values = _subject_ref(policy, spec, subject_id, changed)
    del values["subject_id"]
    return values


def tell_systems(
    session: Session,
    policy: Policy,
    keyring: Keyring,
    *,
    request_id: str | None,
    kind: str,
    subject_id: str,
    event: str,
    wait: bool,
    changed: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
    erasing: bool = False,
    actor: str,
    now: datetime,
) -> list[str]:
    """Queue `event` to every system of the policy; with `wait`, each owes an answer. Returns
    the systems asked; each gets the corrected values (`changed`) of its own categories only."""
    if not policy.systems:
        return []
    email = vault.contact_address(session, keyring, subject_id)
    known = {"email": email} if email else {}
    asked = []
    for key, spec in policy.systems.items():
        body: dict[str, Any] = {
            "request_id": request_id,
            "kind": kind,
            "system": key,
            "subject": _subject_ref(policy, spec, subject_id, known),
            "answer": f"/api/v1/requests/{request_id}/systems/{key}" if wait else None,
            **(extra or {}),
        }
        if changed is not None:
            body["changed"] = _changed_for(policy, spec, subject_id, changed)
        _queue(
            session,
            keyring,
            target=(Target.SYSTEM, key),
            event=event,
            request_id=request_id,
            subject_id=subject_id,
            body=body,
            details={"kind": kind},
            sealed_for=None if erasing else subject_id,
            now=now,
        )
        if wait and request_id is not None:
            _owe_answer(session, request_id, key, event, now=now)
        asked.append(key)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="system.events_queued",
        subject_id=subject_id,
        details={"request_id": request_id, "event": event, "systems": asked, "wait": wait},
        now=now,
    )
    return asked


def consent_changed(
    session: Session,
    policy: Policy,
    keyring: Keyring,
    subject_id: str,
    *,
    purpose: str,
    action: str,
    actor: str,
    now: datetime,
) -> list[str]:
    """`consent.changed` to every system for a grant, withdrawal or objection made outside a
    request (the consent API, the privacy centre's switches, a letter or fax entered by
    staff, the contact form): the shop's CRM must stop mailing an objector too. No answer is
    owed; an objection request sends its own event with the request's id."""
    return tell_systems(
        session, policy, keyring, request_id=None, kind="consent", subject_id=subject_id,
        event="consent.changed", wait=False, extra={"action": action, "purposes": [purpose]},
        actor=actor, now=now,
    )  # fmt: skip


def _owe_answer(
    session: Session, request_id: str, system: str, event: str, *, now: datetime
) -> None:
    """Note that `system` owes an answer to `request_id` (once, however often it is asked)."""
    if session.get(RequestSystem, (request_id, system)) is None:
        session.add(
            RequestSystem(
                request_id=request_id,
                system=system,
                event=event,
                status=Answer.PENDING.value,
                asked_at=now,
            )
        )


def notify_recipients(
    session: Session,
    keyring: Keyring,
    *,
    request_id: str,
    kind: str,
    subject_id: str,
    categories: Iterable[str] | None = None,
    actor: str,
    now: datetime,
) -> list[str]:
    """Tell every recipient that received the subject's data of a rectification, erasure or
    restriction (Art. 19 GDPR): order references and category names only, nothing new.

    With `categories` (a rectification), only recipients that received one of them are told.
    """
    notice = NOTICE_OF.get(kind)
    if notice is None:
        return []
    wanted = set(categories) if categories is not None else None
    grouped: dict[str, tuple[set[str], set[str]]] = {}
    for d in subject_disclosures(session, subject_id):
        hit = {
            c
            for c in d.categories
            if wanted is None or any(covers([w], c) or covers([c], w) for w in wanted)
        }
        if not hit:
            continue
        refs, cats = grouped.setdefault(d.recipient, (set(), set()))
        refs.add(d.order_ref)
        cats.update(hit)
    for recipient, (refs, cats) in sorted(grouped.items()):
        details = {"order_refs": sorted(refs), "categories": sorted(cats)}
        _queue(
            session,
            keyring,
            target=(Target.RECIPIENT, recipient),
            event=f"notice.{notice}",
            request_id=request_id,
            subject_id=subject_id,
            body=details,
            details=details,
            sealed_for=None,
            now=now,
        )
    if grouped:
        audit.record(
            session,
            actor=actor,
            action="disclosure.art19_notified",
            subject_id=subject_id,
            details={"request_id": request_id, "notice": notice, "recipients": sorted(grouped)},
            now=now,
        )
    return sorted(grouped)


def notices_of(session: Session, subject_id: str) -> list[dict[str, Any]]:
    """Who was told of the subject's requests and when: for the access package (Art. 15, 19)."""
    rows = session.scalars(
        select(RequestNotice)
        .where(RequestNotice.subject_id == subject_id)
        .order_by(RequestNotice.created_at, RequestNotice.id)
    ).all()
    return [
        {
            "to": row.target_kind,
            "name": row.target,
            "event": row.event,
            "request_id": row.request_id,
            "queued_at": row.created_at.isoformat(),
            "delivered_at": row.delivered_at.isoformat() if row.delivered_at else None,
            **{k: v for k, v in row.details.items() if k in ("order_refs", "categories")},
        }
        for row in rows
    ]
