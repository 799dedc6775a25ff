"""A policy that names one of the operator's systems, and an app pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from schutz.config import Settings
from schutz.web.app import create_app
from systems.builders import point_system, policy_with_systems
from webapp import close_app


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        policy=policy_with_systems(tmp_path / "policy"),
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    app = create_app(settings)
    point_system(app.state.sessions, settings, "http://127.0.0.1:9/events")
    yield app
    close_app(app)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client
