"""Data-subject requests: data_request, data_request_event, account_token.

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KINDS = "kind IN ('access', 'rectification', 'completion', 'erasure', 'objection', 'restriction')"
CHANNELS = "channel IN ('web', 'api', 'post', 'fax', 'phone', 'email')"
STATUSES = (
    "status IN ('received', 'awaiting_verification', 'in_progress', 'completed', 'refused',"
    " 'expired')"
)


def _ts(name: str, comment: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, comment=comment)


def _str(name: str, size: int, comment: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.String(size), nullable=nullable, comment=comment)


def upgrade() -> None:
    op.create_table(
        "data_request",
        _str("id", 32, "Random hex id.", nullable=False),
        _str("kind", 16, "access, erasure, ... (Art. 15-21).", nullable=False),
        _str("channel", 16, "web, api, post, fax, phone, email.", nullable=False),
        _str("status", 24, "Where the request stands.", nullable=False),
        _str(
            "subject_id",
            32,
            "Vault id of the subject the address belongs to; NULL if none was known.",
        ),
        _str("lang", 8, "Language of the mails to the subject.", nullable=False),
        sa.Column(
            "details_sealed",
            sa.LargeBinary(),
            nullable=True,
            comment="The requester's free text, sealed under the subject's data key.",
        ),
        _ts("received_at", "Receipt (UTC).", nullable=False),
        _ts(
            "due_at",
            "Answer due: one month after receipt, plus any extension.",
            nullable=False,
        ),
        _ts("verify_by", "Unverified after this, the request expires."),
        _ts("verified_at", "Identity checked."),
        _str("verification", 16, "email_link, manual or session (privacy centre)."),
        _str("handler", 120, "Staff member handling it (audit label)."),
        sa.Column(
            "extended_months",
            sa.Integer(),
            nullable=False,
            comment="Months added to the deadline (at most 2, Art. 12(3)).",
        ),
        sa.Column(
            "extension_reason",
            sa.Text(),
            nullable=True,
            comment="Why the deadline was extended; told to the subject.",
        ),
        _str("approved_by", 120, "DPO who approved the erasure (audit label)."),
        _ts("approved_at", "Approval (UTC)."),
        _ts("completed_at", "Answered, refused or expired at (UTC)."),
        _str("outcome", 32, "What was done: export_ready, erased, erasure_held, no_data, ..."),
        sa.Column(
            "held_until",
            sa.Date(),
            nullable=True,
            comment="For a held-back erasure: the day the legal hold lapses.",
        ),
        sa.Column(
            "refusal_reason",
            sa.Text(),
            nullable=True,
            comment="Why the request was refused (Art. 12(4)); told to the subject.",
        ),
        sa.CheckConstraint(KINDS, name=op.f("ck_data_request_kind")),
        sa.CheckConstraint(CHANNELS, name=op.f("ck_data_request_channel")),
        sa.CheckConstraint(STATUSES, name=op.f("ck_data_request_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_request")),
    )
    op.create_index("ix_data_request_status_due", "data_request", ["status", "due_at"])
    op.create_index(op.f("ix_data_request_subject_id"), "data_request", ["subject_id"])

    op.create_table(
        "data_request_event",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        _str("request_id", 32, "The request.", nullable=False),
        _ts("at", "When (UTC).", nullable=False),
        _str("actor", 120, "Audit label of who acted.", nullable=False),
        _str("action", 32, "received, verified, extended, ...", nullable=False),
        sa.Column("note", sa.Text(), nullable=True, comment="Staff note or reason, if any."),
        sa.Column("details", sa.JSON(), nullable=False, comment="Ids, dates and counts only."),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["data_request.id"],
            name=op.f("fk_data_request_event_request_id_data_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_request_event")),
    )
    op.create_index(op.f("ix_data_request_event_request_id"), "data_request_event", ["request_id"])

    op.create_table(
        "account_token",
        _str("token_hash", 64, "SHA-256 (hex) of the random token.", nullable=False),
        _str("kind", 8, "link (mailed) or session (cookie).", nullable=False),
        _str("subject_id", 32, "Whose centre.", nullable=False),
        _str("csrf_token", 64, "The session's form token (sessions only)."),
        _ts("created_at", "Issued (UTC).", nullable=False),
        _ts("expires_at", "Invalid after (UTC).", nullable=False),
        _ts("used_at", "A link is good for one sign-in; set when used."),
        sa.CheckConstraint("kind IN ('link', 'session')", name=op.f("ck_account_token_kind")),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_account_token")),
    )
    op.create_index(op.f("ix_account_token_subject_id"), "account_token", ["subject_id"])


def downgrade() -> None:
    op.drop_table("account_token")
    op.drop_table("data_request_event")
    op.drop_table("data_request")
