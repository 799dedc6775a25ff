"""The consent wordings shown, kept by their SHA-256 so a record's hash can be read back.

A consent event stores only the hash of the wording the subject saw (Art. 7(1) GDPR: the
controller must be able to show what was agreed to). The DPO's export needs the words
themselves; wordings are the controller's own text, never personal, so each distinct one is
stored once, the first time it is used.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import String, Text, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from schutz.db import Base, UtcDateTime


class ConsentWording(Base):
    """One wording text, under its hash."""

    __tablename__ = "consent_wording"

    hash: Mapped[str] = mapped_column(
        String(64), primary_key=True, comment="SHA-256 (hex) of the text, as in consent_event."
    )
    text: Mapped[str] = mapped_column(Text, comment="The wording exactly as shown.")
    version: Mapped[str | None] = mapped_column(String(40), comment="Version label first seen.")
    first_used_at: Mapped[datetime] = mapped_column(UtcDateTime, comment="First shown (UTC).")


def remember_wording(
    session: Session, digest: str, text: str, version: str | None, *, now: datetime
) -> None:
    """Keep `text` under `digest` unless it is there already; safe under concurrency."""
    values = {"hash": digest, "text": text, "version": version, "first_used_at": now}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(postgresql.insert(ConsentWording).values(**values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite.insert(ConsentWording).values(**values).on_conflict_do_nothing())
    elif session.get(ConsentWording, digest) is None:
        session.add(ConsentWording(**values))
        session.flush()


def wordings_by_hash(session: Session, digests: Iterable[str]) -> dict[str, str]:
    """`{hash: text}` for the hashes whose wording is known."""
    wanted = sorted(set(digests))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = session.execute(
            select(ConsentWording.hash, ConsentWording.text).where(ConsentWording.hash.in_(chunk))
        )
        found.update({str(h): str(t) for h, t in rows})
    return found
