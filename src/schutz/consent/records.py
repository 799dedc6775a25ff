"""The consent records as the DPO reads them: by subject or visitor, or all, with wordings.

Art. 7(1) GDPR puts the burden of proof on the controller: for every consent it must show
who agreed to what, when, how, and to which words. These reads serve that proof and are
audited like every read of the ledger (Art. 5(2), accountability). Rows are streamed in
batches so an export of the whole ledger does not sit in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.consent.models import ConsentEvent
from schutz.consent.wordings import wordings_by_hash

BATCH = 500
COLUMNS = (
    "event_id", "at", "subject_id", "visitor_id", "purpose", "action", "channel",
    "policy_version", "wording_version", "wording_hash", "wording", "ip_truncated",
    "evidence", "recorded_by",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """One ledger event with the text of the wording its hash names (None if unknown)."""

    event: ConsentEvent
    wording: str | None

    def row(self) -> tuple[str, ...]:
        e = self.event
        return (
            str(e.id), e.at.isoformat(), e.subject_id or "", e.visitor_id or "", e.purpose,
            e.action, e.channel, e.policy_version, e.wording_version or "",
            e.wording_hash or "", self.wording or "", e.ip_truncated or "", e.evidence or "",
            e.recorded_by,
        )  # fmt: skip


def _query(subject_id: str | None, visitor_id: str | None) -> Select[ConsentEvent]:
    query = select(ConsentEvent).order_by(ConsentEvent.at, ConsentEvent.id)
    if subject_id is not None:
        query = query.where(ConsentEvent.subject_id == subject_id)
    if visitor_id is not None:
        query = query.where(ConsentEvent.visitor_id == visitor_id)
    return query


def iter_records(
    session: Session, *, subject_id: str | None = None, visitor_id: str | None = None
) -> Iterator[ConsentRecord]:
    """The matching events, oldest first, each with its wording; every event when both
    filters are None. Not audited: the caller audits the read with `audit_read`."""
    query = _query(subject_id, visitor_id)
    last: tuple[datetime, int] | None = None
    while True:
        page = query
        if last is not None:
            at, event_id = last
            page = page.where(
                (ConsentEvent.at > at) | ((ConsentEvent.at == at) & (ConsentEvent.id > event_id))
            )
        events = session.scalars(page.limit(BATCH)).all()
        if not events:
            return
        texts = wordings_by_hash(session, [e.wording_hash for e in events if e.wording_hash])
        for event in events:
            yield ConsentRecord(event, texts.get(event.wording_hash or ""))
        last = (events[-1].at, events[-1].id)


def audit_read(
    session: Session,
    *,
    by: str,
    subject_id: str | None,
    count: int,
    export: bool,
    actor: str,
    now: datetime,
) -> None:
    """Record that staff read consent records: how they searched (`subject`, `email`,
    `visitor` or `all`), how many rows, and whether as a file; never the search term."""
    audit.record(
        session,
        actor=actor,
        action="consent.records_exported" if export else "consent.records_read",
        subject_id=subject_id,
        details={"by": by, "rows": count},
        now=now,
    )
