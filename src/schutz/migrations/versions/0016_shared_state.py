"""Shared state for many app servers: rate buckets, the undeclared-cookie report, and on
PostgreSQL `page_view` partitioned by month (SQLite keeps its plain table).

The partitioned table replaces the plain one: same columns, same indexes, the primary key
(id, at) since a partitioned table's keys must hold the partition column. Existing rows are
copied into their months; a default partition takes rows of months not yet created.

Revision ID: 0016
Revises: 0013
Create Date: 2026-11-29
"""

from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

MONTHS_AHEAD = 2


def upgrade() -> None:
    op.create_table(
        "rate_bucket",
        sa.Column(
            "grp",
            sa.String(32),
            nullable=False,
            comment="Route group (rate_limit_<group> setting).",
        ),
        sa.Column(
            "network",
            sa.String(64),
            nullable=False,
            comment="Client network: IPv4 /24 or IPv6 /48, no host.",
        ),
        sa.Column(
            "tokens", sa.Float(), nullable=False, comment="Tokens left at `at` (fractional)."
        ),
        sa.Column(
            "taken",
            sa.Integer(),
            nullable=False,
            comment="Tokens the latest request took (0: it was refused; more: a lease).",
        ),
        sa.Column(
            "at", sa.DateTime(timezone=True), nullable=False, comment="When `tokens` was computed."
        ),
        sa.PrimaryKeyConstraint("grp", "network", name=op.f("pk_rate_bucket")),
    )
    op.create_index("ix_rate_bucket_at", "rate_bucket", ["at"], unique=False)
    op.create_table(
        "cookie_undeclared",
        sa.Column("name", sa.String(256), nullable=False, comment="Cookie name."),
        sa.Column(
            "count", sa.BigInteger(), nullable=False, comment="Times it was dropped, all servers."
        ),
        sa.Column(
            "last_path",
            sa.String(512),
            nullable=False,
            comment="Path of the latest response that tried to set it (no query).",
        ),
        sa.Column(
            "last_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When it was last dropped.",
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cookie_undeclared")),
    )
    if op.get_bind().dialect.name == "postgresql":
        _partition_page_view()


def _month(day: date) -> date:
    return day.replace(day=1)


def _next(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _partition_page_view() -> None:
    bind = op.get_bind()
    run = bind.exec_driver_sql
    run("ALTER TABLE page_view RENAME TO page_view_plain")
    run("ALTER TABLE page_view_plain RENAME CONSTRAINT pk_page_view TO pk_page_view_plain")
    run("ALTER INDEX ix_page_view_at RENAME TO ix_page_view_plain_at")
    run("ALTER INDEX ix_page_view_site_at RENAME TO ix_page_view_plain_site_at")
    run("ALTER SEQUENCE page_view_id_seq OWNED BY NONE")
    _create_partitioned_table()
    run("ALTER SEQUENCE page_view_id_seq OWNED BY page_view.id")
    op.create_index("ix_page_view_at", "page_view", ["at"], unique=False)
    op.create_index("ix_page_view_site_at", "page_view", ["site", "at"], unique=False)
    run("CREATE TABLE page_view_pdefault PARTITION OF page_view DEFAULT")
    oldest = bind.exec_driver_sql("SELECT min(at) FROM page_view_plain").scalar()
    today = datetime.now(UTC).date()
    month = _month(oldest.astimezone(UTC).date() if oldest else today)
    last = _month(today)
    for _ in range(MONTHS_AHEAD):
        last = _next(last)
    while month <= last:
        name = f"page_view_p{month.year:04d}{month.month:02d}"
        low, high = (
            f"'{month.isoformat()} 00:00:00+00'",
            f"'{_next(month).isoformat()} 00:00:00+00'",
        )
        run(f"CREATE TABLE {name} PARTITION OF page_view FOR VALUES FROM ({low}) TO ({high})")
        month = _next(month)
    run("INSERT INTO page_view SELECT * FROM page_view_plain")
    run("DROP TABLE page_view_plain")


def _create_partitioned_table() -> None:
    """`page_view` as before (columns, comments), keyed (id, at), partitioned on `at`."""
    op.create_table(
        "page_view",
        sa.Column(
            "id",
            sa.BigInteger(),
            server_default=sa.text("nextval('page_view_id_seq'::regclass)"),
            nullable=False,
        ),
        sa.Column(
            "at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When the server received it (UTC).",
        ),
        sa.Column(
            "path",
            sa.String(512),
            nullable=False,
            comment="Path of the page, without query string or fragment.",
        ),
        sa.Column(
            "referrer",
            sa.String(512),
            nullable=True,
            comment="Host and path of the referring page, without query; or NULL.",
        ),
        sa.Column(
            "ip_truncated",
            sa.String(45),
            nullable=True,
            comment="Client address cut to IPv4 /24 or IPv6 /48; never the full one.",
        ),
        sa.Column(
            "visitor_id",
            sa.String(64),
            nullable=True,
            comment="Random value of the analytics cookie; joins to nothing (C14).",
        ),
        sa.Column(
            "site",
            sa.String(40),
            nullable=True,
            comment="Key of the embedding site the beacon came from; NULL for Schutz's own pages.",
        ),
        sa.Column(
            "utm",
            sa.String(512),
            nullable=True,
            comment=(
                "Allow-listed utm_* parameters of the page's address (query form); others dropped."
            ),
        ),
        sa.PrimaryKeyConstraint("id", "at", name=op.f("pk_page_view")),
        postgresql_partition_by="RANGE (at)",
    )


def _unpartition_page_view() -> None:
    run = op.get_bind().exec_driver_sql
    run("ALTER TABLE page_view RENAME TO page_view_parted")
    run("ALTER TABLE page_view_parted RENAME CONSTRAINT pk_page_view TO pk_page_view_parted")
    run("ALTER INDEX ix_page_view_at RENAME TO ix_page_view_parted_at")
    run("ALTER INDEX ix_page_view_site_at RENAME TO ix_page_view_parted_site_at")
    run("ALTER SEQUENCE page_view_id_seq OWNED BY NONE")
    run("CREATE TABLE page_view (LIKE page_view_parted INCLUDING DEFAULTS INCLUDING COMMENTS)")
    run("ALTER TABLE page_view ADD CONSTRAINT pk_page_view PRIMARY KEY (id)")
    run("ALTER SEQUENCE page_view_id_seq OWNED BY page_view.id")
    run("CREATE INDEX ix_page_view_at ON page_view (at)")
    run("CREATE INDEX ix_page_view_site_at ON page_view (site, at)")
    run("INSERT INTO page_view SELECT * FROM page_view_parted")
    run("DROP TABLE page_view_parted")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _unpartition_page_view()
    op.drop_table("cookie_undeclared")
    op.drop_index("ix_rate_bucket_at", table_name="rate_bucket")
    op.drop_table("rate_bucket")
