"""Registers: breaches (Art. 33/34), subject events for retention, consent wordings, and
the `portability` request kind (Art. 20).

Revision ID: 0015
Revises: 0013
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OLD_KINDS = (
    "kind IN ('access', 'rectification', 'completion', 'erasure', 'objection', 'restriction')"
)
NEW_KINDS = (
    "kind IN ('access', 'rectification', 'completion', 'erasure', 'objection', 'restriction',"
    " 'portability')"
)


def _ts(name: str, comment: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, comment=comment)


def _str(name: str, size: int, comment: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.String(size), nullable=nullable, comment=comment)


def _text(name: str, comment: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.Text(), nullable=nullable, comment=comment)


def _breach_facts() -> list[sa.Column[object]]:
    """The columns the DPO fills in: what happened, when, to which data."""
    return [
        _str("id", 32, "Random hex id.", nullable=False),
        _str("title", 200, "Short label; no personal data.", nullable=False),
        _text("nature", "What happened (Art. 33(3)(a)); the DPO's words, no personal data."),
        _ts(
            "aware_at",
            "When the controller became aware; the 72 hours run from here.",
            nullable=False,
        ),
        _ts("occurred_from", "Start of the breach, if known (UTC)."),
        _ts("occurred_until", "End of the breach, if known (UTC); else awareness counts."),
        sa.Column(
            "categories",
            sa.JSON(),
            nullable=False,
            comment="Data categories concerned (taxonomy keys from the policy).",
        ),
        sa.Column(
            "sources",
            sa.JSON(),
            nullable=False,
            comment="Intake sources concerned; empty means every source.",
        ),
        _str("risk", 8, "none, risk or high (Art. 33/34).", nullable=False),
        _text("consequences", "Likely consequences (Art. 33(3)(c))."),
        _text("measures", "Measures taken or proposed (Art. 33(3)(d))."),
    ]


def _breach() -> None:
    op.create_table(
        "breach",
        *_breach_facts(),
        sa.Column(
            "affected_subjects",
            sa.Integer(),
            nullable=False,
            comment="Subjects the query found when the breach was recorded.",
        ),
        sa.Column(
            "affected_records",
            sa.Integer(),
            nullable=False,
            comment="Personal fields of theirs in the concerned categories.",
        ),
        _str("recorded_by", 120, "Audit label of the DPO.", nullable=False),
        _ts("recorded_at", "Entered (UTC).", nullable=False),
        _ts("reported_at", "When the supervisory authority was notified (UTC)."),
        _str("authority_reference", 80, "The authority's file number, once it gave one."),
        _text(
            "delay_reason", "Why the notification came after 72 hours (Art. 33(1)).", nullable=True
        ),
        _ts(
            "subjects_notified_at",
            "When the mails to the affected subjects were queued (Art. 34).",
        ),
        sa.CheckConstraint("risk IN ('none', 'risk', 'high')", name=op.f("ck_breach_risk")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breach")),
    )
    op.create_table(
        "breach_subject",
        _str("breach_id", 32, "The breach.", nullable=False),
        _str("subject_id", 32, "Vault id of an affected subject.", nullable=False),
        _ts("notified_at", "Mail queued (UTC); NULL while not told or no address is left."),
        sa.ForeignKeyConstraint(
            ["breach_id"],
            ["breach.id"],
            name=op.f("fk_breach_subject_breach_id_breach"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("breach_id", "subject_id", name=op.f("pk_breach_subject")),
    )
    op.create_index(op.f("ix_breach_subject_subject_id"), "breach_subject", ["subject_id"])


def _subject_event() -> None:
    op.create_table(
        "subject_event",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        _str("subject_id", 32, "Whose relation.", nullable=False),
        _str("type", 16, "last_contact or contract_ended.", nullable=False),
        _ts("at", "When it happened (UTC).", nullable=False),
        _str("recorded_by", 120, "Audit label of the caller.", nullable=False),
        _ts("recorded_at", "Received (UTC).", nullable=False),
        sa.CheckConstraint(
            "type IN ('last_contact', 'contract_ended')", name=op.f("ck_subject_event_type")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["vault_subject.id"],
            name=op.f("fk_subject_event_subject_id_vault_subject"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_event")),
    )
    op.create_index("ix_subject_event_subject_type", "subject_event", ["subject_id", "type", "at"])


def _consent_wording() -> None:
    op.create_table(
        "consent_wording",
        _str("hash", 64, "SHA-256 (hex) of the text, as in consent_event.", nullable=False),
        _text("text", "The wording exactly as shown."),
        _str("version", 40, "Version label first seen."),
        _ts("first_used_at", "First shown (UTC).", nullable=False),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_consent_wording")),
    )


# Rows that hang off `data_request` with ON DELETE CASCADE: SQLite's rebuild drops the old
# table, which would delete them, so they are copied aside and put back.
CHILDREN = ("data_request_event", "request_system")


def _kinds(check: str) -> None:
    """Replace the check on `data_request.kind` (SQLite rebuilds the table in batch mode)."""
    kept = CHILDREN if op.get_bind().dialect.name == "sqlite" else ()
    for table in kept:
        op.execute(f"CREATE TEMPORARY TABLE keep_{table} AS SELECT * FROM {table}")  # noqa: S608 - our table names
    with op.batch_alter_table("data_request") as batch:
        batch.drop_constraint(op.f("ck_data_request_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_data_request_kind"), sa.text(check))
    for table in kept:
        op.execute(f"DELETE FROM {table}")  # noqa: S608 - our table names
        op.execute(f"INSERT INTO {table} SELECT * FROM keep_{table}")  # noqa: S608
        op.execute(f"DROP TABLE keep_{table}")


def upgrade() -> None:
    _breach()
    _subject_event()
    _consent_wording()
    _kinds(NEW_KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM data_request WHERE kind = 'portability'")
    _kinds(OLD_KINDS)
    op.drop_table("consent_wording")
    op.drop_index("ix_subject_event_subject_type", table_name="subject_event")
    op.drop_table("subject_event")
    op.drop_index(op.f("ix_breach_subject_subject_id"), table_name="breach_subject")
    op.drop_table("breach_subject")
    op.drop_table("breach")
