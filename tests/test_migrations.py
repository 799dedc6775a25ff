"""The migrations are the schema: one head, and the models match what they build."""

import re

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from schutz.db import alembic_config
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


# On PostgreSQL `page_view` is partitioned by month: its partitions are tables the models do
# not name (analytics/partitions.py makes them).
_PARTITION = re.compile(r"^page_view_p(\d{6}|default)$")


def _not_a_partition(name: str | None, kind: str, _parent: object) -> bool:
    return not (kind == "table" and name is not None and _PARTITION.match(name))
