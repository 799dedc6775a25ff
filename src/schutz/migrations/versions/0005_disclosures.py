"""Disclosures: disclosure_endpoint, disclosure_order, disclosure.

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def _ts(name: str, comment: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, comment=comment)


def upgrade() -> None:
    op.create_table(
        "disclosure_endpoint",
        sa.Column(
            "recipient",
            sa.String(64),
            nullable=False,
            comment="Recipient key in the policy, e.g. freight_carrier.",
        ),
        sa.Column(
            "url",
            sa.String(2000),
            nullable=False,
            comment="Webhook URL: https, or http to a loopback address only.",
        ),
        sa.Column(
            "secret_file",
            sa.String(1000),
            nullable=False,
            comment="Absolute path of the file (mode 0600) holding the signing secret.",
        ),
        _ts("updated_at", "Last set (UTC)."),
        sa.Column(
            "updated_by", sa.String(120), nullable=False, comment="Who set it (audit label)."
        ),
        sa.PrimaryKeyConstraint("recipient", name=op.f("pk_disclosure_endpoint")),
    )
    op.create_table(
        "disclosure_order",
        sa.Column("id", sa.String(32), nullable=False, comment="Random hex id."),
        sa.Column(
            "order_ref",
            sa.String(80),
            nullable=False,
            comment="The shop's order reference; idempotency key of the request.",
        ),
        sa.Column("subject_id", sa.String(32), nullable=False, comment="Who ordered (vault id)."),
        sa.Column(
            "key_version",
            sa.Integer(),
            nullable=False,
            comment="Data-key version of `details`.",
        ),
        sa.Column(
            "details",
            sa.LargeBinary(),
            nullable=False,
            comment="Items, total, currency, payment: AES-256-GCM under the subject's data key.",
        ),
        sa.Column(
            "policy_version",
            sa.String(40),
            nullable=False,
            comment="Policy in force at the order.",
        ),
        _ts("created_at", "When received (UTC)."),
        sa.Column(
            "created_by", sa.String(120), nullable=False, comment="Who sent it (audit label)."
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["vault_subject.id"],
            name=op.f("fk_disclosure_order_subject_id_vault_subject"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure_order")),
        sa.UniqueConstraint("order_ref", name=op.f("uq_disclosure_order_order_ref")),
    )
    op.create_index(op.f("ix_disclosure_order_subject_id"), "disclosure_order", ["subject_id"])
    op.create_table(
        "disclosure",
        sa.Column(
            "id",
            sa.String(32),
            nullable=False,
            comment="Random hex id; the webhook's Idempotency-Key.",
        ),
        sa.Column("order_id", sa.String(32), nullable=False, comment="The order that caused it."),
        sa.Column("subject_id", sa.String(32), nullable=False, comment="Whose data (vault id)."),
        sa.Column(
            "recipient", sa.String(64), nullable=False, comment="Recipient key in the policy."
        ),
        sa.Column("purpose", sa.String(64), nullable=False, comment="Purpose it serves (C2)."),
        sa.Column(
            "categories",
            sa.JSON(),
            nullable=False,
            comment="Taxonomy categories of the personal data in the payload.",
        ),
        sa.Column(
            "policy_version", sa.String(40), nullable=False, comment="Policy that allowed it."
        ),
        sa.Column(
            "key_version",
            sa.Integer(),
            nullable=False,
            comment="Data-key version of `payload`.",
        ),
        sa.Column(
            "payload",
            sa.LargeBinary(),
            nullable=False,
            comment="The exact JSON body sent, AES-256-GCM under the subject's data key.",
        ),
        sa.Column(
            "payload_hash",
            sa.String(64),
            nullable=False,
            comment="SHA-256 (hex) of the exact body; proves what was sent.",
        ),
        sa.Column(
            "status",
            sa.String(16),
            nullable=False,
            comment="queued, retrying, delivered or dead.",
        ),
        sa.Column(
            "outbox_id",
            sa.String(32),
            nullable=False,
            comment="The outbox row delivering it now.",
        ),
        sa.Column(
            "retries",
            sa.Integer(),
            nullable=False,
            comment="Times staff sent a dead delivery again.",
        ),
        sa.Column(
            "last_error",
            sa.String(200),
            nullable=True,
            comment="Why the last attempt failed: status code or error class only.",
        ),
        _ts("created_at", "When recorded (UTC)."),
        _ts("delivered_at", "When the recipient answered 2xx (UTC).", nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["disclosure_order.id"],
            name=op.f("fk_disclosure_order_id_disclosure_order"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["vault_subject.id"],
            name=op.f("fk_disclosure_subject_id_vault_subject"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure")),
    )
    op.create_index(op.f("ix_disclosure_order_id"), "disclosure", ["order_id"])
    op.create_index(op.f("ix_disclosure_subject_id"), "disclosure", ["subject_id"])
    op.create_index("ix_disclosure_status_created", "disclosure", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_disclosure_status_created", table_name="disclosure")
    op.drop_index(op.f("ix_disclosure_subject_id"), table_name="disclosure")
    op.drop_index(op.f("ix_disclosure_order_id"), table_name="disclosure")
    op.drop_table("disclosure")
    op.drop_index(op.f("ix_disclosure_order_subject_id"), table_name="disclosure_order")
    op.drop_table("disclosure_order")
    op.drop_table("disclosure_endpoint")
