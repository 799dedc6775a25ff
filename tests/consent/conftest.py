"""The bundled policy in force and its decision engine, for the consent ledger's tests."""

from __future__ import annotations

import pytest

from schutz.config import BUNDLED_POLICY_DIR
from schutz.policy.engine import Engine, compile_policy
from schutz.policy.loader import load_policy_set
from schutz.policy.schema import Policy


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy_set(BUNDLED_POLICY_DIR).latest


@pytest.fixture(scope="session")
def rules(policy: Policy) -> Engine:
    return compile_policy(policy)
