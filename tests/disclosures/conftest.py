"""Disclosure fixtures: the bundled policy, a keyring, and a local webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from schutz.config import BUNDLED_POLICY_DIR, Settings
from schutz.policy.engine import Engine
from schutz.policy.loader import load_policy_set
from schutz.vault.keys import Keyring, load_keyring

from .builders import Receiver

POLICY_VERSION = "2026-11"


@pytest.fixture(scope="session")
def rules() -> Engine:
    return load_policy_set(BUNDLED_POLICY_DIR).engine(POLICY_VERSION)


@pytest.fixture
def keyring(settings: Settings) -> Keyring:
    return load_keyring(settings)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()
