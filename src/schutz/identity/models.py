"""Tables of identities: staff users, their server-side sessions, and API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from schutz.db import Base, UtcDateTime
from schutz.identity.roles import API_KEY_ROLES, STAFF_ROLES


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class StaffUser(Base):
    """A person who works in the staff console. Staff are not data subjects here, so the
    e-mail address is stored as given; it still never goes into logs or the audit trail."""

    __tablename__ = "staff_user"
    __table_args__ = (CheckConstraint(_in("role", STAFF_ROLES), name="role"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="Opaque id (hex).")
    email: Mapped[str] = mapped_column(String(254), comment="Sign-in name, as given.")
    role: Mapped[str] = mapped_column(String(20), comment="support/fulfilment/marketing/dpo/admin.")
    password_hash: Mapped[str] = mapped_column(String(255), comment="argon2id (PHC string).")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, comment="When added (UTC).")
    disabled_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, comment="Set when the user may no longer sign in."
    )
    failed_logins: Mapped[int] = mapped_column(
        Integer,
        default=0,
        comment="Failed sign-ins since the last successful one, from any network (never locks).",
    )


# One account per address, whatever its case.
Index("uq_staff_user_email_lower", func.lower(StaffUser.email), unique=True)


class StaffSession(Base):
    """A signed-in browser. Only the SHA-256 of its cookie token is stored."""

    __tablename__ = "staff_session"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="Opaque id (hex).")
    token_hash: Mapped[str] = mapped_column(
        String(64), unique=True, comment="SHA-256 (hex) of the cookie token."
    )
    staff_id: Mapped[str] = mapped_column(
        ForeignKey("staff_user.id", ondelete="CASCADE"), index=True, comment="Who signed in."
    )
    csrf_token: Mapped[str] = mapped_column(
        String(64), comment="Forms of this session must echo it (useless without the cookie)."
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, comment="Sign-in time (UTC).")
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, comment="Invalid from then on.")
    ended_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, comment="Set on sign-out or when replaced by a new sign-in."
    )

    staff: Mapped[StaffUser] = relationship(lazy="joined")


class StaffLoginThrottle(Base):
    """Failed sign-ins for one sign-in address from one client network.

    Keyed by the address (hashed, known or not, so that the answers do not tell which
    addresses have accounts) and the truncated client network: a stranger slows down only
    their own network's tries, never the owner's sign-in from elsewhere.
    """

    __tablename__ = "staff_login_throttle"

    account: Mapped[str] = mapped_column(
        String(64), primary_key=True, comment="SHA-256 (hex) of the normalised sign-in address."
    )
    network: Mapped[str] = mapped_column(
        String(64), primary_key=True, comment="Client network (IPv4 /24, IPv6 /48) or unknown."
    )
    failures: Mapped[int] = mapped_column(
        Integer, comment="Password checks since the last success (counted before each check)."
    )
    last_attempt_at: Mapped[datetime] = mapped_column(
        UtcDateTime,
        index=True,
        comment="Latest counted attempt (UTC); a day later it is forgotten.",
    )
    blocked_until: Mapped[datetime | None] = mapped_column(
        UtcDateTime, comment="No password check for this address and network before then."
    )


class ApiKey(Base):
    """A key an integration sends as `Authorization: Bearer`. Only the secret's SHA-256 is kept;
    the secret is random (256 bits), so a fast hash is enough and a slow one would cost every
    API call."""

    __tablename__ = "api_key"
    __table_args__ = (CheckConstraint(_in("role", API_KEY_ROLES), name="role"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="Opaque id (hex).")
    name: Mapped[str] = mapped_column(
        String(80), unique=True, comment='Label in the audit log, e.g. "shop-1".'
    )
    role: Mapped[str] = mapped_column(String(20), comment="shop/support/.../dpo/admin.")
    prefix: Mapped[str] = mapped_column(
        String(16), unique=True, comment="Public part of the key, to find the row."
    )
    secret_hash: Mapped[str] = mapped_column(String(64), comment="SHA-256 (hex) of the secret.")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, comment="When created (UTC).")
    created_by: Mapped[str] = mapped_column(String(120), comment="Actor who created it.")
    revoked_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, comment="Set when the key stops working."
    )
