"""Newsletter fixtures: the latest policy's engine, links, and a fixed clock (`keyring`:
tests/conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schutz.config import BUNDLED_POLICY_DIR
from schutz.newsletter.service import Links
from schutz.policy.engine import Engine, compile_policy
from schutz.policy.loader import load_policy_set

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SECRET = b"0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="session")
def rules() -> Engine:
    return compile_policy(load_policy_set(BUNDLED_POLICY_DIR).latest)


@pytest.fixture
def links() -> Links:
    return Links(base_url="https://shop.example", secret=SECRET)
