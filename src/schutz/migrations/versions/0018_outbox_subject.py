"""Outbox rows found by their subject: an expression index for the erasure's delete.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-29
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # PostgreSQL only: an erasure deletes the subject's outbox rows by this expression, and
    # without the index that is a scan of the whole outbox inside the erasure's transaction.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_outbox_subject ON outbox ((payload ->> 'subject_id'))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_outbox_subject")
