"""Fixtures for the pure policy package: the bundled versions and their compiled engines."""

from __future__ import annotations

from datetime import date

import pytest

from schutz.config import BUNDLED_POLICY_DIR
from schutz.policy.engine import Engine
from schutz.policy.loader import PolicySet, load_policy_set

TODAY = date(2026, 11, 25)


@pytest.fixture(scope="session")
def bundled() -> PolicySet:
    return load_policy_set(BUNDLED_POLICY_DIR)


@pytest.fixture(scope="session")
def compiled(bundled: PolicySet) -> Engine:
    """The decision engine of the version in force on TODAY."""
    return bundled.engine(bundled.in_force(TODAY).version)
