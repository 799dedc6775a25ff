"""Request fixtures: the bundled policy's engine, a keyring, signed links, a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schutz.config import BUNDLED_POLICY_DIR, Settings
from schutz.policy.engine import Engine
from schutz.policy.loader import load_policy_set
from schutz.subject_requests.tokens import Links
from schutz.vault.keys import Keyring, load_keyring

NOW = datetime(2026, 11, 16, 9, 30, tzinfo=UTC)
POLICY_VERSION = "2026-11"


@pytest.fixture(scope="session")
def rules() -> Engine:
    return load_policy_set(BUNDLED_POLICY_DIR).engine(POLICY_VERSION)


@pytest.fixture
def keyring(settings: Settings) -> Keyring:
    return load_keyring(settings)


@pytest.fixture
def links() -> Links:
    return Links(base_url="http://127.0.0.1:8000", secret=b"test-secret-for-request-links")
