"""Links and equal answers: pending_lookup, the sealed queue of public forms' look-ups.

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_lookup",
        sa.Column("id", sa.String(32), nullable=False, comment="Random hex id."),
        sa.Column(
            "kind",
            sa.String(16),
            nullable=False,
            comment="What to do once looked up: account_link, request or newsletter.",
        ),
        sa.Column(
            "key_id",
            sa.String(16),
            nullable=False,
            comment="Id of the master key the sealing key was derived from.",
        ),
        sa.Column(
            "sealed",
            sa.LargeBinary(),
            nullable=False,
            comment="AES-256-GCM of the job (address and all) under the derived key.",
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, comment="Queued at (UTC)."
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_lookup")),
    )


def downgrade() -> None:
    op.drop_table("pending_lookup")
