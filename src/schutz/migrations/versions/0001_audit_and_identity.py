"""Audit log and identities: audit_entry, audit_head, staff_user, staff_session, api_key.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

STAFF_ROLES = "role IN ('support', 'fulfilment', 'marketing', 'dpo', 'admin')"
API_KEY_ROLES = "role IN ('shop', 'support', 'fulfilment', 'marketing', 'dpo', 'admin')"


def _ts(name: str, comment: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, comment=comment)


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column(
            "seq",
            sa.BigInteger(),
            autoincrement=False,
            nullable=False,
            comment="Position in the chain, from 1, without gaps.",
        ),
        _ts("at", "When it happened (UTC)."),
        sa.Column(
            "actor",
            sa.String(120),
            nullable=False,
            comment='Who did it: "apikey:shop-1", "staff:<id>", "cli", "system".',
        ),
        sa.Column(
            "action",
            sa.String(80),
            nullable=False,
            comment='What happened, dotted: "staff.login", "consent.grant".',
        ),
        sa.Column(
            "subject_id",
            sa.String(64),
            nullable=True,
            comment="The data subject concerned, by opaque id, if any.",
        ),
        sa.Column(
            "purpose",
            sa.String(64),
            nullable=True,
            comment="The purpose the action served, if any.",
        ),
        sa.Column(
            "details",
            sa.JSON(),
            nullable=False,
            comment="Ids, category names and reasons; never personal data.",
        ),
        sa.Column(
            "flagged",
            sa.Boolean(),
            nullable=False,
            comment="Set for exception purposes (C9) so the DPO reviews them.",
        ),
        sa.Column(
            "prev_hash",
            sa.String(64),
            nullable=False,
            comment="Hash of the entry before (64 zeros for the first).",
        ),
        sa.Column(
            "hash",
            sa.String(64),
            nullable=False,
            comment="SHA-256 over the canonical JSON of this entry and prev_hash.",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_entry")),
    )
    op.create_index(op.f("ix_audit_entry_action"), "audit_entry", ["action"])
    op.create_index(op.f("ix_audit_entry_subject_id"), "audit_entry", ["subject_id"])

    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False, comment="Always 1."),
        sa.Column(
            "seq", sa.BigInteger(), nullable=False, comment="Seq of the newest entry (0: none)."
        ),
        sa.Column("hash", sa.String(64), nullable=False, comment="Hash of the newest entry."),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )

    op.create_table(
        "staff_user",
        sa.Column("id", sa.String(32), nullable=False, comment="Opaque id (hex)."),
        sa.Column("email", sa.String(254), nullable=False, comment="Sign-in name, as given."),
        sa.Column(
            "role",
            sa.String(20),
            nullable=False,
            comment="support/fulfilment/marketing/dpo/admin.",
        ),
        sa.Column(
            "password_hash", sa.String(255), nullable=False, comment="argon2id (PHC string)."
        ),
        _ts("created_at", "When added (UTC)."),
        _ts("disabled_at", "Set when the user may no longer sign in.", nullable=True),
        sa.Column(
            "failed_logins",
            sa.Integer(),
            nullable=False,
            comment="Failed sign-ins since failed_since.",
        ),
        _ts("failed_since", "Start of the current window of failed sign-ins.", nullable=True),
        _ts(
            "locked_until",
            "No sign-in before this time (after too many failures).",
            nullable=True,
        ),
        sa.CheckConstraint(STAFF_ROLES, name=op.f("ck_staff_user_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_user")),
    )
    op.create_index(
        "uq_staff_user_email_lower", "staff_user", [sa.text("lower(email)")], unique=True
    )

    op.create_table(
        "staff_session",
        sa.Column("id", sa.String(32), nullable=False, comment="Opaque id (hex)."),
        sa.Column(
            "token_hash",
            sa.String(64),
            nullable=False,
            comment="SHA-256 (hex) of the cookie token.",
        ),
        sa.Column("staff_id", sa.String(32), nullable=False, comment="Who signed in."),
        sa.Column(
            "csrf_token",
            sa.String(64),
            nullable=False,
            comment="Forms of this session must echo it (useless without the cookie).",
        ),
        _ts("created_at", "Sign-in time (UTC)."),
        _ts("expires_at", "Invalid from then on."),
        _ts("ended_at", "Set on sign-out or when replaced by a new sign-in.", nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_user.id"],
            name=op.f("fk_staff_session_staff_id_staff_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_session_token_hash")),
    )
    op.create_index(op.f("ix_staff_session_staff_id"), "staff_session", ["staff_id"])

    op.create_table(
        "api_key",
        sa.Column("id", sa.String(32), nullable=False, comment="Opaque id (hex)."),
        sa.Column(
            "name", sa.String(80), nullable=False, comment='Label in the audit log, e.g. "shop-1".'
        ),
        sa.Column("role", sa.String(20), nullable=False, comment="shop/support/.../dpo/admin."),
        sa.Column(
            "prefix",
            sa.String(16),
            nullable=False,
            comment="Public part of the key, to find the row.",
        ),
        sa.Column(
            "secret_hash", sa.String(64), nullable=False, comment="SHA-256 (hex) of the secret."
        ),
        _ts("created_at", "When created (UTC)."),
        sa.Column("created_by", sa.String(120), nullable=False, comment="Actor who created it."),
        _ts("revoked_at", "Set when the key stops working.", nullable=True),
        sa.CheckConstraint(API_KEY_ROLES, name=op.f("ck_api_key_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("name", name=op.f("uq_api_key_name")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_key_prefix")),
    )


def downgrade() -> None:
    op.drop_table("api_key")
    op.drop_index(op.f("ix_staff_session_staff_id"), table_name="staff_session")
    op.drop_table("staff_session")
    op.drop_index("uq_staff_user_email_lower", table_name="staff_user")
    op.drop_table("staff_user")
    op.drop_table("audit_head")
    op.drop_index(op.f("ix_audit_entry_subject_id"), table_name="audit_entry")
    op.drop_index(op.f("ix_audit_entry_action"), table_name="audit_entry")
    op.drop_table("audit_entry")
