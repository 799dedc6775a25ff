"""Rate-limit buckets shared by every app server: one row per route group and client network.

On PostgreSQL a request spends its token with one statement (`take_tokens`): an
`INSERT ... ON CONFLICT DO UPDATE` that refills the bucket for the time since its last use,
takes a token (or a lease of a few) when there is one and returns what is left, all under
the row lock the upsert holds. The database's clock decides, so servers whose clocks differ
still agree. SQLite runs on one machine and one process, where the in-process buckets of
`web/limits.py` suffice; the table exists there too, so the schema is the same on both.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Float, Index, Integer, String, bindparam, text
from sqlalchemy.orm import Mapped, mapped_column

from schutz.db import Base, UtcDateTime


class RateBucket(Base):
    """The tokens left in one bucket at one moment (a full bucket may be deleted at any time)."""

    __tablename__ = "rate_bucket"
    __table_args__ = (Index("ix_rate_bucket_at", "at"),)

    grp: Mapped[str] = mapped_column(
        String(32), primary_key=True, comment="Route group (rate_limit_<group> setting)."
    )
    network: Mapped[str] = mapped_column(
        String(64), primary_key=True, comment="Client network: IPv4 /24 or IPv6 /48, no host."
    )
    tokens: Mapped[float] = mapped_column(Float, comment="Tokens left at `at` (fractional).")
    taken: Mapped[int] = mapped_column(
        Integer, comment="Tokens the latest request took (0: it was refused; more: a lease)."
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime, comment="When `tokens` was computed.")


# The bucket holds `fill` now: the stored tokens plus the refill since `at`, capped at the
# capacity. Up to `want` whole tokens are taken, none when not one whole token is there. One
# statement under the row lock of the upsert, so two servers can never both spend the last.
_FILL = "LEAST(:capacity, b.tokens + EXTRACT(EPOCH FROM now() - b.at) * :per_second)"
_TAKEN = "LEAST(:want, FLOOR(FILL))"
TAKE = text(
    """
    INSERT INTO rate_bucket AS b (grp, network, tokens, taken, at)
    VALUES (:grp, :network, :capacity - :want, :want, now())
    ON CONFLICT (grp, network) DO UPDATE SET
        tokens = FILL - TAKEN,
        taken = TAKEN,
        at = now()
    RETURNING b.tokens, b.taken
    """.replace("TAKEN", _TAKEN).replace("FILL", _FILL)
).bindparams(
    bindparam("capacity", type_=Float()),
    bindparam("per_second", type_=Float()),
    bindparam("want", type_=Integer()),
)
FORGET = text("DELETE FROM rate_bucket WHERE at < now() - make_interval(secs => :seconds)")


def take_tokens(
    conn: Connection, grp: str, network: str, *, capacity: int, seconds: float, want: int = 1
) -> tuple[int, float]:
    """Take up to `want` tokens of (`grp`, `network`): (tokens taken, seconds until one
    whole token is back when none was there, else 0.0).

    `want` above 1 leases tokens for the caller to spend without asking again; `conn` runs
    the statement in its own short transaction (the caller commits).
    """
    per_second = capacity / seconds
    row = conn.execute(
        TAKE,
        {
            "grp": grp,
            "network": network,
            "capacity": float(capacity),
            "per_second": per_second,
            "want": max(1, min(want, capacity)),
        },
    ).one()
    tokens, taken = float(row[0]), int(row[1])
    return taken, 0.0 if taken else (1.0 - tokens) / per_second


def forget_full(conn: Connection, *, older_than: float) -> int:
    """Delete buckets untouched for `older_than` seconds (they have refilled: nothing lost)."""
    result = conn.execute(FORGET, {"seconds": older_than})
    return int(getattr(result, "rowcount", 0) or 0)
