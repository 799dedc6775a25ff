"""Request fixtures: signed links and a fixed clock (`rules`, `keyring`: tests/conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schutz.subject_requests.tokens import Links

NOW = datetime(2026, 11, 16, 9, 30, tzinfo=UTC)


@pytest.fixture
def links() -> Links:
    return Links(base_url="http://127.0.0.1:8000", secret=b"test-secret-for-request-links")
