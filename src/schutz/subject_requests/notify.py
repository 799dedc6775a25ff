"""Who must hear of a correction or erasure: recipients that received the old values (Art. 19).

Disclosures are recorded by `schutz.disclosures`; where that domain is not installed, no
recipient has received anything from Schutz, and the list is empty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from schutz.policy.schema import Policy

DisclosureLister = Callable[[Session, str], Sequence[Any]]


def _disclosure_lister() -> DisclosureLister | None:
    try:
        from schutz.disclosures.service import subject_disclosures
    except ImportError:  # the disclosures domain is optional
        return None
    lister: DisclosureLister = subject_disclosures
    return lister


@dataclass(frozen=True, slots=True)
class Recipient:
    recipient: str
    name: str
    categories: tuple[str, ...]
    last_disclosed_at: datetime


@dataclass(frozen=True, slots=True)
class DisclosureRecord:
    """A disclosure as the subject sees it: who, why, what kinds of data, when, its state."""

    recipient: str
    purpose: str
    categories: tuple[str, ...]
    status: str
    order_ref: str
    created_at: datetime
    delivered_at: datetime | None


def disclosures_of(session: Session, subject_id: str) -> list[DisclosureRecord]:
    lister = _disclosure_lister()
    if lister is None:
        return []
    return [
        DisclosureRecord(
            recipient=d.recipient,
            purpose=d.purpose,
            categories=tuple(d.categories),
            status=d.status,
            order_ref=d.order_ref,
            created_at=d.created_at,
            delivered_at=d.delivered_at,
        )
        for d in lister(session, subject_id)
    ]


def _covers(disclosed: Iterable[str], category: str) -> bool:
    return any(category == c or category.startswith(c + ".") for c in disclosed)


def recipients_to_notify(
    session: Session, policy: Policy, subject_id: str, fields: Iterable[str]
) -> list[Recipient]:
    """Recipients whose disclosures carried a category of any of `fields`, newest first."""
    categories = {policy.field_categories[f] for f in fields if f in policy.field_categories}
    found: dict[str, Recipient] = {}
    for d in disclosures_of(session, subject_id):
        hit = tuple(sorted(c for c in categories if _covers(d.categories, c)))
        if not hit:
            continue
        spec = policy.recipients.get(d.recipient)
        name = spec.name.en if spec else d.recipient
        before = found.get(d.recipient)
        merged = tuple(sorted(set(hit) | set(before.categories if before else ())))
        latest = max(d.created_at, before.last_disclosed_at) if before else d.created_at
        found[d.recipient] = Recipient(d.recipient, name, merged, latest)
    return sorted(found.values(), key=lambda r: r.last_disclosed_at, reverse=True)
