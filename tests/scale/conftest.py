"""PostgreSQL only: what several app servers share lives there (SQLite is one process)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from disclosures.builders import Receiver
from schutz.config import Settings


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The run's migrated PostgreSQL schema, emptied after the test (as `db_url` does)."""
    from conftest import _empty_all_tables, _migrated_engine

    url: str = request.getfixturevalue("pg_schema_url")
    engine = _migrated_engine(url)
    yield url
    _empty_all_tables(engine)


@pytest.fixture
def pg_settings(tmp_path: Path, pg_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=pg_url)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1 that counts each disclosure it is sent."""
    running = Receiver().start()
    yield running
    running.stop()
