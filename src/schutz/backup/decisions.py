"""The decisions a restore must not forget, read from a database, merged and (de)serialised.

Invariant 5 of the design: a restore forgets nothing decided after the snapshot. These are
the decisions that take something away and that nobody may silently undo: an API key
revoked, a staff user disabled, an objection or withdrawal (a newsletter unsubscribe is a
withdrawal of the newsletter purpose), and an erasure, done or waiting under a legal hold.
Each is kept with the ids and times that re-apply it, and nothing else: no address, no
name. A withdrawal or objection keeps its proof (channel, policy version, evidence
reference, truncated address) because re-applying it appends the same event again; the
browser's user agent, free text a person's software sent, is left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session

from schutz.consent.models import ConsentEvent
from schutz.consent.vocabulary import ConsentAction
from schutz.identity.models import ApiKey, StaffUser
from schutz.vault import service as vault

TAKEN_BACK = (ConsentAction.WITHDRAW.value, ConsentAction.OBJECT.value)


@dataclass(frozen=True, slots=True)
class Revocation:
    api_key_id: str
    revoked_at: datetime


@dataclass(frozen=True, slots=True)
class Disablement:
    staff_id: str
    disabled_at: datetime


@dataclass(frozen=True, slots=True)
class Statement:
    """A withdrawal or objection from the consent ledger, as it was recorded."""

    subject_id: str | None
    visitor_id: str | None
    purpose: str
    action: str
    channel: str
    policy_version: str
    at: datetime
    evidence: str | None = None
    wording_version: str | None = None
    ip_truncated: str | None = None

    @property
    def key(self) -> tuple[str | None, str | None, str, str, datetime, str | None]:
        """What makes two events the same statement: who, which purpose, what, when, proof.
        (Aware datetimes of the same instant are equal and hash alike, whatever their zone.)"""
        return (
            self.subject_id,
            self.visitor_id,
            self.purpose,
            self.action,
            self.at,
            self.evidence,
        )


@dataclass(frozen=True, slots=True)
class Erasure:
    """`held`: requested but waiting under a legal hold (the subject is restricted)."""

    subject_id: str
    erased_at: datetime
    held: bool = False


@dataclass(frozen=True, slots=True)
class Decisions:
    revocations: list[Revocation] = field(default_factory=list)
    disablements: list[Disablement] = field(default_factory=list)
    statements: list[Statement] = field(default_factory=list)
    erasures: list[Erasure] = field(default_factory=list)

    def __len__(self) -> int:
        return sum(
            len(part)
            for part in (self.revocations, self.disablements, self.statements, self.erasures)
        )


_STATEMENT_COLUMNS = (
    ConsentEvent.subject_id,
    ConsentEvent.visitor_id,
    ConsentEvent.purpose,
    ConsentEvent.action,
    ConsentEvent.channel,
    ConsentEvent.policy_version,
    ConsentEvent.at,
    ConsentEvent.evidence,
    ConsentEvent.wording_version,
    ConsentEvent.ip_truncated,
)


def statements_in(session: Session) -> list[Statement]:
    """Every withdrawal and objection of the ledger, oldest first."""
    query = (
        select(*_STATEMENT_COLUMNS)
        .where(ConsentEvent.action.in_(TAKEN_BACK))
        .order_by(ConsentEvent.at, ConsentEvent.id)
    )
    return [Statement(*tuple(row)) for row in session.execute(query)]


def read_decisions(session: Session) -> Decisions:
    """The decisions the database behind `session` holds now."""
    revocations = session.execute(
        select(ApiKey.id, ApiKey.revoked_at).where(ApiKey.revoked_at.is_not(None))
    ).all()
    disablements = session.execute(
        select(StaffUser.id, StaffUser.disabled_at).where(StaffUser.disabled_at.is_not(None))
    ).all()
    done, waiting = vault.erasure_decisions(session)
    return Decisions(
        revocations=[Revocation(i, t) for i, t in revocations if t is not None],
        disablements=[Disablement(i, t) for i, t in disablements if t is not None],
        statements=statements_in(session),
        erasures=[Erasure(i, t) for i, t in done] + [Erasure(i, t, held=True) for i, t in waiting],
    )


def gather(engine: Engine) -> Decisions:
    """The decisions of the live database; none when it is gone or was never migrated."""
    tables = set(inspect(engine).get_table_names())
    needed = {
        ApiKey.__tablename__,
        StaffUser.__tablename__,
        ConsentEvent.__tablename__,
        *vault.ERASURE_TABLES,
    }
    if not needed <= tables:
        return Decisions()
    with Session(engine) as session:
        return read_decisions(session)


def _earliest(items: Iterable[Any], key: str, time: str) -> list[Any]:
    kept: dict[Any, Any] = {}
    for item in items:
        known = kept.get(getattr(item, key))
        if known is None or getattr(item, time) < getattr(known, time):
            kept[getattr(item, key)] = item
    return sorted(kept.values(), key=lambda i: (getattr(i, time), getattr(i, key)))


def _erasures(items: Iterable[Erasure]) -> list[Erasure]:
    """One per subject: a done erasure wins over a held one, then the earliest."""
    kept: dict[str, Erasure] = {}
    for item in items:
        known = kept.get(item.subject_id)
        if known is None or (item.held, item.erased_at) < (known.held, known.erased_at):
            kept[item.subject_id] = item
    return sorted(kept.values(), key=lambda e: (e.erased_at, e.subject_id))


def merge(*sources: Decisions) -> Decisions:
    """All decisions of all sources, each once (the earliest time where they differ)."""
    statements = {s.key: s for source in sources for s in source.statements}
    return Decisions(
        revocations=_earliest(
            (r for s in sources for r in s.revocations), "api_key_id", "revoked_at"
        ),
        disablements=_earliest(
            (d for s in sources for d in s.disablements), "staff_id", "disabled_at"
        ),
        statements=sorted(statements.values(), key=lambda s: s.at),
        erasures=_erasures(e for s in sources for e in s.erasures),
    )


def _row(item: Any) -> list[Any]:
    """A decision as a JSON array, its fields in the dataclass's order."""
    values = (getattr(item, name) for name in item.__slots__)
    return [v.isoformat() if isinstance(v, datetime) else v for v in values]


def _from_row(cls: Any, row: list[Any], time_at: int) -> Any:
    values = list(row)
    when = datetime.fromisoformat(str(values[time_at]))
    if when.tzinfo is None:
        raise ValueError("a journal time without a zone")
    values[time_at] = when
    return cls(*values)


def to_json(decisions: Decisions) -> dict[str, Any]:
    """Arrays rather than objects: the ledger part can hold many thousand statements."""
    return {
        "version": 2,
        "revocations": [_row(r) for r in decisions.revocations],
        "disablements": [_row(d) for d in decisions.disablements],
        "statements": [_row(s) for s in decisions.statements],
        "erasures": [_row(e) for e in decisions.erasures],
    }


def from_json(body: dict[str, Any]) -> Decisions:
    """The inverse of `to_json`. Also reads the erasure-only journal of earlier versions
    (`{"erasures": [[subject_id, erased_at], ...]}`, version 1). Raises ValueError, KeyError
    or TypeError on anything else."""
    if body.get("version", 1) not in (1, 2):
        raise ValueError("unknown journal version")
    return Decisions(
        revocations=[_from_row(Revocation, r, 1) for r in body.get("revocations", [])],
        disablements=[_from_row(Disablement, d, 1) for d in body.get("disablements", [])],
        statements=[_from_row(Statement, s, 6) for s in body.get("statements", [])],
        erasures=[_from_row(Erasure, e, 1) for e in body["erasures"]],
    )
