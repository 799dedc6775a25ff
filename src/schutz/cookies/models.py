"""The cookies domain's one table: the report of undeclared cookies Schutz held back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from schutz.db import Base, UtcDateTime


class UndeclaredCookie(Base):
    """How often a cookie the policy does not declare was dropped, and where last (C17).

    Only the cookie's name is kept, never a value; every app server adds to the same row.
    """

    __tablename__ = "cookie_undeclared"

    name: Mapped[str] = mapped_column(String(256), primary_key=True, comment="Cookie name.")
    count: Mapped[int] = mapped_column(BigInteger, comment="Times it was dropped, all servers.")
    last_path: Mapped[str] = mapped_column(
        String(512), comment="Path of the latest response that tried to set it (no query)."
    )
    last_at: Mapped[datetime] = mapped_column(UtcDateTime, comment="When it was last dropped.")
