"""Audit lanes: the chain split into segments that writers append to side by side.

Every entry so far belongs to lane 1 (`lane_seq` = `seq`), and the one head row becomes
lane 1's head; no MAC changes. PostgreSQL gets the sequence that numbers entries across
lanes, continuing after the newest entry.

Revision ID: 0013
Revises: 0010
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

COMMENTS: dict[tuple[str, str, sa.types.TypeEngine[int] | sa.String], tuple[str, str]] = {
    ("audit_entry", "seq", sa.BigInteger()): (
        "Position in the chain, from 1, without gaps.",
        "Position in the log across lanes, from 1 (gaps on PostgreSQL after rollbacks).",
    ),
    ("audit_head", "id", sa.Integer()): ("Always 1.", "The lane, from 1."),
    ("audit_head", "seq", sa.BigInteger()): (
        "Seq of the newest entry (0: none).",
        "lane_seq of the lane's newest entry (0: none).",
    ),
    ("audit_head", "hash", sa.String(64)): (
        "MAC of the newest entry.",
        "MAC of the lane's newest entry.",
    ),
}


def _comments(*, upgrade: bool) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite keeps no column comments
    for (table, column, type_), (old, new) in COMMENTS.items():
        op.alter_column(
            table,
            column,
            existing_type=type_,
            existing_nullable=False,
            comment=new if upgrade else old,
            existing_comment=old if upgrade else new,
        )


def upgrade() -> None:
    with op.batch_alter_table("audit_entry") as batch:
        batch.add_column(sa.Column("lane", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("lane_seq", sa.BigInteger(), nullable=True))
    op.execute("UPDATE audit_entry SET lane = 1, lane_seq = seq")
    with op.batch_alter_table("audit_entry") as batch:
        batch.alter_column(
            "lane",
            existing_type=sa.Integer(),
            nullable=False,
            comment="The lane (chain segment) it belongs to.",
        )
        batch.alter_column(
            "lane_seq",
            existing_type=sa.BigInteger(),
            nullable=False,
            comment="Position in its lane, from 1, without gaps.",
        )
        batch.create_unique_constraint(op.f("uq_audit_entry_lane"), ["lane", "lane_seq"])
    _comments(upgrade=True)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE audit_entry_seq")
        op.execute(
            "SELECT setval('audit_entry_seq', coalesce(max(seq), 0) + 1, false) FROM audit_entry"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE audit_entry_seq")
    _comments(upgrade=False)
    with op.batch_alter_table("audit_entry") as batch:
        batch.drop_constraint(op.f("uq_audit_entry_lane"), type_="unique")
        batch.drop_column("lane_seq")
        batch.drop_column("lane")
