"""Vault: vault_subject, vault_field, vault_legal_hold, vault_tombstone.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, comment: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, comment=comment)


def upgrade() -> None:
    op.create_table(
        "vault_subject",
        sa.Column("id", sa.String(32), nullable=False, comment="Opaque id (hex)."),
        _ts("created_at", "First intake (UTC)."),
        sa.Column(
            "wrapped_key",
            sa.LargeBinary(),
            nullable=True,
            comment="The data key, AES-256-GCM under a master key; NULL once erased.",
        ),
        sa.Column(
            "master_key_id",
            sa.String(16),
            nullable=True,
            comment="Id of the master key that wraps the data key.",
        ),
        sa.Column(
            "key_version",
            sa.Integer(),
            nullable=False,
            comment="Version of the data key; part of every field's AAD.",
        ),
        sa.Column(
            "email_index",
            sa.LargeBinary(32),
            nullable=True,
            comment="HMAC-SHA256 of the normalised e-mail (blind index).",
        ),
        _ts(
            "restricted_at",
            "Processing restricted since (Art. 18 GDPR); NULL when not.",
            nullable=True,
        ),
        _ts(
            "erasure_requested_at",
            "Erasure asked for but held back by a legal hold (Art. 17(3)(b)).",
            nullable=True,
        ),
        sa.Column(
            "erasure_due_on",
            sa.Date(),
            nullable=True,
            comment="First day the held-back erasure may run (`retention run`).",
        ),
        _ts(
            "erased_at",
            "Crypto-shredded at (Art. 17 GDPR); nothing personal remains.",
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vault_subject")),
        sa.UniqueConstraint("email_index", name=op.f("uq_vault_subject_email_index")),
    )
    op.create_index(op.f("ix_vault_subject_master_key_id"), "vault_subject", ["master_key_id"])
    op.create_index(op.f("ix_vault_subject_erasure_due_on"), "vault_subject", ["erasure_due_on"])
    op.create_table(
        "vault_field",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("subject_id", sa.String(32), nullable=False, comment="Whose value this is."),
        sa.Column(
            "field",
            sa.String(64),
            nullable=False,
            comment='API field name, e.g. "email", "postal_address.city".',
        ),
        sa.Column(
            "category",
            sa.String(100),
            nullable=False,
            comment="Taxonomy category the policy maps the field to.",
        ),
        sa.Column(
            "key_version", sa.Integer(), nullable=False, comment="Data-key version it is under."
        ),
        sa.Column(
            "ciphertext",
            sa.LargeBinary(),
            nullable=False,
            comment="Nonce + AES-256-GCM ciphertext + tag; AAD binds subject/field.",
        ),
        sa.Column(
            "source", sa.String(32), nullable=False, comment="Intake source that brought it (C1)."
        ),
        sa.Column(
            "purposes",
            sa.JSON(),
            nullable=False,
            comment="Purposes it was collected for (purpose binding, C9).",
        ),
        sa.Column(
            "policy_version",
            sa.String(40),
            nullable=False,
            comment="Policy in force at intake.",
        ),
        _ts("created_at", "First stored (UTC)."),
        _ts("updated_at", "Last written (UTC)."),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["vault_subject.id"],
            name=op.f("fk_vault_field_subject_id_vault_subject"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vault_field")),
        sa.UniqueConstraint("subject_id", "field", name="uq_vault_field_subject_field"),
    )
    op.create_table(
        "vault_legal_hold",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("subject_id", sa.String(32), nullable=False, comment="Who is held."),
        sa.Column("hold", sa.String(64), nullable=False, comment="Key of the hold in the policy."),
        sa.Column(
            "reference",
            sa.String(80),
            nullable=False,
            comment="What creates the duty, e.g. an order reference; not personal.",
        ),
        sa.Column(
            "event_date", sa.Date(), nullable=False, comment="Date of the voucher or letter."
        ),
        sa.Column(
            "lapses_on",
            sa.Date(),
            nullable=False,
            comment="First day the duty no longer applies.",
        ),
        _ts("created_at", "When recorded (UTC)."),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["vault_subject.id"],
            name=op.f("fk_vault_legal_hold_subject_id_vault_subject"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vault_legal_hold")),
    )
    op.create_index(op.f("ix_vault_legal_hold_subject_id"), "vault_legal_hold", ["subject_id"])
    op.create_table(
        "vault_tombstone",
        sa.Column("subject_id", sa.String(32), nullable=False, comment="Erased id."),
        _ts("erased_at", "When (UTC)."),
        sa.PrimaryKeyConstraint("subject_id", name=op.f("pk_vault_tombstone")),
    )


def downgrade() -> None:
    op.drop_table("vault_tombstone")
    op.drop_index(op.f("ix_vault_legal_hold_subject_id"), table_name="vault_legal_hold")
    op.drop_table("vault_legal_hold")
    op.drop_table("vault_field")
    op.drop_index(op.f("ix_vault_subject_erasure_due_on"), table_name="vault_subject")
    op.drop_index(op.f("ix_vault_subject_master_key_id"), table_name="vault_subject")
    op.drop_table("vault_subject")
