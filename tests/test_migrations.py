"""The migrations are the schema: one head, and the models match what they build."""

import re
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from schutz.db import alembic_config, make_engine
from schutz.models import metadata


def test_the_migrations_have_exactly_one_head(engine: Engine) -> None:
    heads = ScriptDirectory.from_config(alembic_config(engine)).get_heads()
    assert len(heads) == 1, f"several heads: {heads}"


# SQLite cannot reflect expression indexes (e.g. lower(email)); that is not a mismatch.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_the_models_match_the_migrated_schema(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": False, "include_name": _not_a_partition}
        )
        diff = compare_metadata(ctx, metadata)
    assert diff == []


def test_a_request_keeps_its_history_through_the_upgrades(tmp_path: Path) -> None:
    """SQLite rebuilds `data_request` to widen its checks (0014, 0015); dropping the old table
    would cascade to the history that hangs off it, so an installation would lose it."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(alembic_config(engine), "0013")
    at = "2026-11-01 10:00:00.000000"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO data_request (id, kind, channel, status, lang, received_at, due_at,"
                " extended_months) VALUES ('r1', 'erasure', 'web', 'in_progress', 'en', :at,"
                " :at, 0)"
            ),
            {"at": at},
        )
        conn.execute(
            text(
                "INSERT INTO data_request_event (request_id, at, actor, action, details)"
                " VALUES ('r1', :at, 'subject', 'verified', '{}')"
            ),
            {"at": at},
        )
    command.upgrade(alembic_config(engine), "head")
    with engine.connect() as conn:
        events = conn.execute(text("SELECT action FROM data_request_event")).scalars().all()
        status = conn.execute(text("SELECT status FROM data_request")).scalar_one()
    engine.dispose()
    assert events == ["verified"]
    assert status == "in_progress"


# On PostgreSQL `page_view` is partitioned by month: its partitions are tables the models do
# not name (analytics/partitions.py makes them).
_PARTITION = re.compile(r"^page_view_p(\d{6}|default)$")


def _not_a_partition(name: str | None, kind: str, _parent: object) -> bool:
    return not (kind == "table" and name is not None and _PARTITION.match(name))
