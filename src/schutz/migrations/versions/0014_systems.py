"""The operator's systems: endpoints, each request's systems and notices, `awaiting_systems`.

A request may now wait for the operator's systems (`awaiting_systems`) and carry the
operator's own reference. SQLite rebuilds `data_request` to widen its status check; the
rebuild drops the table, whose ON DELETE CASCADE would take the history with it, so the
history is copied aside first and put back after.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

OLD = "'received', 'awaiting_verification', 'in_progress', 'completed', 'refused', 'expired'"
NEW = OLD.replace("'in_progress',", "'in_progress', 'awaiting_systems',")


def _ts(name: str, comment: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, comment=comment)


def _str(name: str, size: int, comment: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.String(size), nullable=nullable, comment=comment)


def _statuses(values: str, *, ref: bool | None) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("CREATE TEMPORARY TABLE keep_request_event AS SELECT * FROM data_request_event")
    with op.batch_alter_table("data_request", recreate="always" if sqlite else "auto") as batch:
        batch.drop_constraint(op.f("ck_data_request_status"), type_="check")
        batch.create_check_constraint(op.f("ck_data_request_status"), f"status IN ({values})")
        if ref is True:
            batch.add_column(
                _str("external_ref", 80, "The operator's own reference (a ticket number).")
            )
            batch.create_index("ix_data_request_external_ref", ["external_ref"])
        elif ref is False:
            batch.drop_index("ix_data_request_external_ref")
            batch.drop_column("external_ref")
    if sqlite:
        op.execute("DELETE FROM data_request_event")
        op.execute("INSERT INTO data_request_event SELECT * FROM keep_request_event")
        op.execute("DROP TABLE keep_request_event")


def upgrade() -> None:
    _statuses(NEW, ref=True)
    op.create_table(
        "system_endpoint",
        _str("system", 64, "System key in the policy, e.g. shop_database.", nullable=False),
        _str(
            "url", 2000, "Webhook URL: https, or http to a loopback address only.", nullable=False
        ),
        _str(
            "secret_file",
            1000,
            "Absolute path of the file (mode 0600) holding the signing secret.",
            nullable=False,
        ),
        _ts("updated_at", "Last set (UTC).", nullable=False),
        _str("updated_by", 120, "Who set it (audit label).", nullable=False),
        sa.PrimaryKeyConstraint("system", name=op.f("pk_system_endpoint")),
    )
    op.create_table(
        "request_system",
        _str("request_id", 32, "The request.", nullable=False),
        _str("system", 64, "System key.", nullable=False),
        _str("event", 40, "The event it was asked to act on.", nullable=False),
        _str("status", 16, "pending, done or failed.", nullable=False),
        sa.Column(
            "note",
            sa.Text(),
            nullable=True,
            comment="The system's note (no personal data expected).",
        ),
        _ts("asked_at", "Event queued (UTC).", nullable=False),
        _ts("answered_at", "Answer (UTC)."),
        sa.Column(
            "data_sealed",
            sa.LargeBinary(),
            nullable=True,
            comment="Data the system posted for the access package, sealed.",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["data_request.id"],
            name=op.f("fk_request_system_request_id_data_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", "system", name=op.f("pk_request_system")),
    )
    op.create_table(
        "request_notice",
        _str("id", 32, "Random hex id; the body's id and Idempotency-Key.", nullable=False),
        _str("request_id", 32, "The request that caused it, if any."),
        _str("subject_id", 32, "Whose data it concerns (vault id)."),
        _str("target_kind", 16, "system or recipient.", nullable=False),
        _str("target", 64, "System or recipient key.", nullable=False),
        _str("event", 40, "request.verified, notice.erasure...", nullable=False),
        sa.Column(
            "details",
            sa.JSON(),
            nullable=False,
            comment="Order references and category names only.",
        ),
        _str("outbox_id", 32, "The outbox row delivering it.", nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, comment="Attempts that failed."),
        _ts("created_at", "Queued (UTC).", nullable=False),
        _ts("delivered_at", "When the receiver answered 2xx (UTC)."),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_notice")),
    )
    op.create_index("ix_request_notice_request_id", "request_notice", ["request_id"])
    op.create_index("ix_request_notice_subject_id", "request_notice", ["subject_id"])


def downgrade() -> None:
    op.drop_table("request_notice")
    op.drop_table("request_system")
    op.drop_table("system_endpoint")
    op.execute("UPDATE data_request SET status = 'in_progress' WHERE status = 'awaiting_systems'")
    _statuses(OLD, ref=False)
