"""Analytics across origins: page_view.site and .utm, and the analytics_event table.

Revision ID: 0012
Revises: 0010
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SITE = "Key of the embedding site the beacon came from; NULL for Schutz's own pages."
UTM = "Allow-listed utm_* parameters of the page's address (query form); others dropped."


def upgrade() -> None:
    with op.batch_alter_table("page_view") as batch:
        batch.add_column(sa.Column("site", sa.String(40), nullable=True, comment=SITE))
        batch.add_column(sa.Column("utm", sa.String(512), nullable=True, comment=UTM))
    op.create_index("ix_page_view_site_at", "page_view", ["site", "at"], unique=False)
    op.create_table(
        "analytics_event",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, comment="When received (UTC)."),
        sa.Column("site", sa.String(40), nullable=False, comment="Key of the embedding site."),
        sa.Column(
            "name", sa.String(64), nullable=False, comment="Event name given to Schutz.track."
        ),
        sa.Column("path", sa.String(512), nullable=True, comment="Path of the page, no query."),
        sa.Column(
            "props",
            sa.Text(),
            nullable=True,
            comment="Up to 8 short properties as JSON; values like e-mail addresses are dropped.",
        ),
        sa.Column(
            "visitor_id",
            sa.String(64),
            nullable=True,
            comment="Hash of the visitor's random consent id; joins to nothing (C14).",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_event")),
    )
    op.create_index("ix_analytics_event_site_at", "analytics_event", ["site", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_analytics_event_site_at", table_name="analytics_event")
    op.drop_table("analytics_event")
    op.drop_index("ix_page_view_site_at", table_name="page_view")
    with op.batch_alter_table("page_view") as batch:
        batch.drop_column("utm")
        batch.drop_column("site")
