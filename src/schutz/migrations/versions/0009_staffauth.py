"""Staff sign-in throttled per (address, network) instead of an account lock-out.

Adds staff_login_throttle; drops staff_user.failed_since and staff_user.locked_until (no
stranger can lock an account any more); failed_logins stays as an atomic count.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

FAILED_LOGINS_NOW = "Failed sign-ins since the last successful one, from any network (never locks)."
FAILED_LOGINS_BEFORE = "Failed sign-ins since failed_since."


def _ts(name: str, comment: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, comment=comment)


def _comment_failed_logins(comment: str, existing: str) -> None:
    if op.get_bind().dialect.name == "postgresql":  # SQLite keeps no column comments
        op.alter_column(
            "staff_user",
            "failed_logins",
            existing_type=sa.Integer(),
            existing_nullable=False,
            comment=comment,
            existing_comment=existing,
        )


def upgrade() -> None:
    op.create_table(
        "staff_login_throttle",
        sa.Column(
            "account",
            sa.String(64),
            nullable=False,
            comment="SHA-256 (hex) of the normalised sign-in address.",
        ),
        sa.Column(
            "network",
            sa.String(64),
            nullable=False,
            comment="Client network (IPv4 /24, IPv6 /48) or unknown.",
        ),
        sa.Column(
            "failures",
            sa.Integer(),
            nullable=False,
            comment="Password checks since the last success (counted before each check).",
        ),
        _ts(
            "last_attempt_at",
            "Latest counted attempt (UTC); a day later it is forgotten.",
            nullable=False,
        ),
        _ts("blocked_until", "No password check for this address and network before then."),
        sa.PrimaryKeyConstraint("account", "network", name=op.f("pk_staff_login_throttle")),
    )
    op.create_index(
        op.f("ix_staff_login_throttle_last_attempt_at"),
        "staff_login_throttle",
        ["last_attempt_at"],
    )
    # SQLite (3.35+) drops a column in place when no index or constraint names it.
    op.drop_column("staff_user", "locked_until")
    op.drop_column("staff_user", "failed_since")
    _comment_failed_logins(FAILED_LOGINS_NOW, FAILED_LOGINS_BEFORE)


def downgrade() -> None:
    _comment_failed_logins(FAILED_LOGINS_BEFORE, FAILED_LOGINS_NOW)
    op.add_column(
        "staff_user", _ts("failed_since", "Start of the current window of failed sign-ins.")
    )
    op.add_column(
        "staff_user",
        _ts("locked_until", "No sign-in before this time (after too many failures)."),
    )
    op.drop_index(
        op.f("ix_staff_login_throttle_last_attempt_at"), table_name="staff_login_throttle"
    )
    op.drop_table("staff_login_throttle")
