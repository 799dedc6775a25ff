"""Vault fixtures: the bundled policy's engine and a keyring in the test's data dir."""

from __future__ import annotations

import pytest

from schutz.config import BUNDLED_POLICY_DIR, Settings
from schutz.policy.engine import Engine
from schutz.policy.loader import load_policy_set
from schutz.vault.keys import Keyring, load_keyring

from .builders import POLICY_VERSION


@pytest.fixture(scope="session")
def rules() -> Engine:
    return load_policy_set(BUNDLED_POLICY_DIR).engine(POLICY_VERSION)


@pytest.fixture
def keyring(settings: Settings) -> Keyring:
    return load_keyring(settings)
