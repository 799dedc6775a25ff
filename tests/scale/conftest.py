"""PostgreSQL only: what several app servers share lives there (SQLite is one process)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from disclosures.builders import Receiver
from schutz.config import Settings
from schutz.db import make_engine, migrate
from schutz.models import metadata

_engines: dict[str, Engine] = {}


@pytest.fixture
def pg_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """The run's PostgreSQL schema, migrated once; every table emptied after the test."""
    url: str = request.getfixturevalue("pg_schema_url")
    if url not in _engines:
        _engines[url] = make_engine(url)
        migrate(_engines[url])
    engine = _engines[url]
    yield engine
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def pg_settings(tmp_path: Path, pg_engine: Engine, pg_schema_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=pg_schema_url)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1 that counts each disclosure it is sent."""
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture(scope="session", autouse=True)
def _dispose_scale_engines() -> Iterator[None]:
    yield
    for engine in _engines.values():
        engine.dispose()
