"""Analytics: page_view (raw, deleted after the policy's retention) and analytics_daily.

Revision ID: 0006
Revises: 0007
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0007"
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "page_view",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_view")),
    )
    op.create_index("ix_page_view_at", "page_view", ["at"], unique=False)
    op.create_table(
        "analytics_daily",
        sa.Column("day", sa.Date(), nullable=False, comment="The day (UTC)."),
        sa.Column("kind", sa.String(16), nullable=False, comment="total, path, referrer or hour."),
        sa.Column(
            "key",
            sa.String(512),
            nullable=False,
            comment="The path, referrer or hour; empty for total.",
        ),
        sa.Column("page_views", sa.Integer(), nullable=False, comment="Page views that day."),
        sa.Column(
            "visits", sa.Integer(), nullable=False, comment="Visits (30 minutes idle ends one)."
        ),
        sa.Column("visitors", sa.Integer(), nullable=False, comment="Distinct visitors that day."),
        sa.PrimaryKeyConstraint("day", "kind", "key", name=op.f("pk_analytics_daily")),
    )


def downgrade() -> None:
    op.drop_table("analytics_daily")
    op.drop_index("ix_page_view_at", table_name="page_view")
    op.drop_table("page_view")
