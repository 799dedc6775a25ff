"""Consent ledger and outbox: consent_event, outbox.

Revision ID: 0003
Revises: 0002
Create Date: 2025-01-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ACTIONS = "action IN ('grant', 'confirm', 'withdraw', 'object')"
CHANNELS = "channel IN ('web', 'post', 'fax', 'email', 'phone', 'api', 'gpc')"


def _ts(name: str, comment: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, comment=comment)


def upgrade() -> None:
    op.create_table(
        "consent_event",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column(
            "subject_id",
            sa.String(32),
            nullable=True,
            comment="The data subject (vault id), or NULL for an anonymous visitor.",
        ),
        sa.Column(
            "visitor_id",
            sa.String(64),
            nullable=True,
            comment="Opaque cookie id of an anonymous visitor, or NULL for a subject.",
        ),
        sa.Column("purpose", sa.String(64), nullable=False, comment="Purpose key from the policy."),
        sa.Column(
            "action", sa.String(16), nullable=False, comment="grant, confirm, withdraw or object."
        ),
        sa.Column(
            "channel",
            sa.String(16),
            nullable=False,
            comment="web, post, fax, email, phone, api or gpc.",
        ),
        sa.Column(
            "policy_version",
            sa.String(40),
            nullable=False,
            comment="Version of the privacy policy in force when it was said.",
        ),
        sa.Column(
            "wording_hash",
            sa.String(64),
            nullable=True,
            comment="SHA-256 (hex) of the exact consent wording shown, if any.",
        ),
        sa.Column(
            "wording_version",
            sa.String(40),
            nullable=True,
            comment="Version label of that wording (e.g. the template's).",
        ),
        sa.Column(
            "ip_truncated",
            sa.String(45),
            nullable=True,
            comment="Client address cut to IPv4 /24 or IPv6 /48; never the full one.",
        ),
        sa.Column(
            "user_agent",
            sa.String(400),
            nullable=True,
            comment="The browser's User-Agent, for the double opt-in proof.",
        ),
        sa.Column(
            "evidence",
            sa.Text(),
            nullable=True,
            comment="Proof reference: scan id of a letter or fax, confirmation token hash.",
        ),
        sa.Column(
            "recorded_by",
            sa.String(120),
            nullable=False,
            comment='Who entered it: "staff:<id>", "apikey:<name>", "subject", ...',
        ),
        _ts("at", "When it was said (UTC)."),
        sa.CheckConstraint(
            "(subject_id IS NULL) <> (visitor_id IS NULL)",
            name=op.f("ck_consent_event_subject_xor_visitor"),
        ),
        sa.CheckConstraint(ACTIONS, name=op.f("ck_consent_event_action")),
        sa.CheckConstraint(CHANNELS, name=op.f("ck_consent_event_channel")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_event")),
    )
    op.create_index("ix_consent_event_subject", "consent_event", ["subject_id", "purpose", "at"])
    op.create_index("ix_consent_event_visitor", "consent_event", ["visitor_id", "purpose", "at"])

    op.create_table(
        "outbox",
        sa.Column(
            "id", sa.String(32), nullable=False, comment="Random hex id; also the .eml file name."
        ),
        sa.Column("kind", sa.String(16), nullable=False, comment="'email' or 'webhook'."),
        sa.Column(
            "idempotency_key",
            sa.String(200),
            nullable=False,
            comment="Names the delivery; enqueueing the same key twice yields the first row.",
        ),
        sa.Column(
            "payload",
            sa.JSON(),
            nullable=False,
            comment="What to deliver; for e-mail: to, subject, body, headers (personal data).",
        ),
        sa.Column(
            "status",
            sa.String(16),
            nullable=False,
            comment="pending, sending (leased to a worker), sent or dead.",
        ),
        sa.Column(
            "attempts", sa.Integer(), nullable=False, comment="Delivery attempts started so far."
        ),
        _ts(
            "next_attempt_at",
            "Pending: not before this time. Sending: the lease ends at this time.",
        ),
        sa.Column(
            "lease_token",
            sa.String(32),
            nullable=True,
            comment="Set by the worker that holds the lease; only it may finish the row.",
        ),
        sa.Column(
            "last_error",
            sa.Text(),
            nullable=True,
            comment="Why the last attempt failed: error class and code only, no personal data.",
        ),
        _ts("created_at", "When it was enqueued."),
        _ts(
            "sent_at",
            "When the delivery was accepted (SMTP) or written (.eml).",
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )
    op.create_index("ix_outbox_due", "outbox", ["kind", "status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_consent_event_visitor", table_name="consent_event")
    op.drop_index("ix_consent_event_subject", table_name="consent_event")
    op.drop_table("consent_event")
