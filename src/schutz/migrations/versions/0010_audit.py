"""Keyed audit chain: audit_entry.key_id names the audit key each entry's MAC is under.

Entries written before this revision keep their unkeyed SHA-256 and get `key_id` NULL;
`schutz audit verify` names the first of them until `schutz audit rekey` has MACed them
once under the audit key (see docs/security.md, "The audit chain").

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

KEY_ID = "Id of the audit key of `hash`; NULL: unkeyed SHA-256 from before 0008."
COMMENTS = {
    ("audit_entry", "prev_hash"): (
        "Hash of the entry before (64 zeros for the first).",
        "MAC of the entry before (64 zeros for the first).",
    ),
    ("audit_entry", "hash"): (
        "SHA-256 over the canonical JSON of this entry and prev_hash.",
        "HMAC-SHA256 under the audit key of this entry's canonical JSON and prev_hash.",
    ),
    ("audit_head", "hash"): ("Hash of the newest entry.", "MAC of the newest entry."),
}


def _comments(*, upgrade: bool) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite keeps no column comments
    for (table, column), (old, new) in COMMENTS.items():
        op.alter_column(
            table,
            column,
            existing_type=sa.String(64),
            existing_nullable=False,
            comment=new if upgrade else old,
            existing_comment=old if upgrade else new,
        )


def upgrade() -> None:
    with op.batch_alter_table("audit_entry") as batch:
        batch.add_column(sa.Column("key_id", sa.String(16), nullable=True, comment=KEY_ID))
    _comments(upgrade=True)


def downgrade() -> None:
    _comments(upgrade=False)
    with op.batch_alter_table("audit_entry") as batch:
        batch.drop_column("key_id")
