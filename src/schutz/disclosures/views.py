"""Reading disclosures: what each recipient received, for the API, the pages and the export.

No payload leaves here unless asked for (the DPO); opening one is a read of personal data
and is audited. After an erasure a disclosure's record stays, without its payload.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.disclosures.models import Disclosure, Order
from schutz.disclosures.sealing import PAYLOAD_LABEL, SubjectKey, subject_key
from schutz.errors import InvalidInput, NotFound
from schutz.vault.keys import Keyring


@dataclass(frozen=True, slots=True)
class DisclosureView:
    """A disclosure as the API and the pages show it; `payload` only when asked for."""

    id: str
    order_ref: str
    recipient: str
    purpose: str
    categories: tuple[str, ...]
    status: str
    created_at: datetime
    delivered_at: datetime | None
    last_error: str | None = None
    payload: dict[str, Any] | None = None


def view_of(
    row: Disclosure, order_ref: str, payload: dict[str, Any] | None = None
) -> DisclosureView:
    return DisclosureView(
        id=row.id,
        order_ref=order_ref,
        recipient=row.recipient,
        purpose=row.purpose,
        categories=tuple(row.categories),
        status=row.status,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        last_error=row.last_error,
        payload=payload,
    )


def _listed(session: Session, where: Any) -> list[DisclosureView]:
    """The disclosures `where` selects, oldest first, with their orders' references."""
    rows = session.execute(
        select(Disclosure, Order.order_ref)
        .join(Order, Order.id == Disclosure.order_id)
        .where(where)
        .order_by(Disclosure.created_at, Disclosure.recipient)
    ).all()
    return [view_of(row, ref) for row, ref in rows]


def views_of(session: Session, order_ids: Iterable[str]) -> list[DisclosureView]:
    return _listed(session, Disclosure.order_id.in_(list(order_ids)))


def _open_payload(key: SubjectKey | None, row: Disclosure) -> dict[str, Any] | None:
    """The exact body sent, checked against its hash; None once the subject is erased."""
    if key is None:
        return None
    body = key.open(PAYLOAD_LABEL, row.id, row.payload, row.key_version)
    if hashlib.sha256(body.encode("utf-8")).hexdigest() != row.payload_hash:
        raise InvalidInput(f"disclosure {row.id} does not match its recorded hash")
    parsed: dict[str, Any] = json.loads(body)
    return parsed


def order_disclosures(
    session: Session,
    keyring: Keyring,
    order_ref: str,
    *,
    with_payload: bool,
    actor: str,
    now: datetime,
) -> list[DisclosureView]:
    """What each recipient received for one order; the payloads only when asked (DPO).

    Opening payloads is a read of personal data and is audited (Art. 5(2) GDPR). After an
    erasure the record stays and `payload` is None: the key that opened it is gone.
    """
    order = session.scalars(select(Order).where(Order.order_ref == order_ref)).first()
    if order is None:
        raise NotFound("no such order")
    views = views_of(session, [order.id])
    if not with_payload:
        return views
    try:
        key: SubjectKey | None = subject_key(session, keyring, order.subject_id)
    except NotFound:
        key = None
    rows = {
        row.id: row
        for row in session.scalars(select(Disclosure).where(Disclosure.order_id == order.id))
    }
    opened = [replace(v, payload=_open_payload(key, rows[v.id])) for v in views]
    audit.record(
        session,
        actor=actor,
        action="disclosure.payloads_read",
        subject_id=order.subject_id,
        details={"order_ref": order_ref, "disclosures": [v.id for v in views], "erased": not key},
        now=now,
    )
    return opened


def subject_disclosures(session: Session, subject_id: str) -> list[DisclosureView]:
    """Who received this subject's data, when and why (Art. 15(1)(c) GDPR; no payloads).

    For the access export and the privacy centre ("who received my data").
    """
    return _listed(session, Disclosure.subject_id == subject_id)


def recent_disclosures(
    session: Session, *, limit: int = 50, status: str | None = None
) -> list[DisclosureView]:
    """The newest disclosures (or those in `status`), for the staff console; no payloads."""
    query = select(Disclosure, Order.order_ref).join(Order, Order.id == Disclosure.order_id)
    if status is not None:
        query = query.where(Disclosure.status == status)
    rows = session.execute(query.order_by(Disclosure.created_at.desc()).limit(limit)).all()
    return [view_of(row, ref) for row, ref in rows]


def status_counts(session: Session) -> dict[str, int]:
    """How many disclosures are in each status."""
    rows = session.execute(
        select(Disclosure.status, func.count()).group_by(Disclosure.status)
    ).all()
    return {str(status): int(count) for status, count in rows}
