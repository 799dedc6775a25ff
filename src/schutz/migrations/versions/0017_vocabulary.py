"""The operator's vocabulary: custom identities of subjects, findable by blind index only.

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vault_identity",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column(
            "subject_id",
            sa.String(32),
            sa.ForeignKey("vault_subject.id", ondelete="CASCADE"),
            nullable=False,
            comment="Whose identity this is.",
        ),
        sa.Column(
            "identity",
            sa.String(64),
            nullable=False,
            comment="Name of the custom identity in the policy (custom_fields).",
        ),
        sa.Column(
            "value_index",
            sa.LargeBinary(32),
            nullable=False,
            comment="HMAC-SHA256 of name and normalised value (blind index).",
        ),
        sa.UniqueConstraint("identity", "value_index", name="uq_vault_identity_value"),
        sa.UniqueConstraint("subject_id", "identity", name="uq_vault_identity_subject"),
    )


def downgrade() -> None:
    op.drop_table("vault_identity")
