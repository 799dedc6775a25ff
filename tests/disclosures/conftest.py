"""Disclosure fixtures: a local webhook receiver (`rules` and `keyring`: tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .builders import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()
