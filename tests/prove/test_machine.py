"""Issue 13: the model test of the whole public surface, on SQLite and PostgreSQL.

`make test` runs the seeded `ci` profile (a bounded run); `make prove` runs the `prove`
profile for `--budget` seconds (scripts/prove.sh), rerunning the machine with fresh random
seeds until the budget is spent.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from .conftest import PROFILE
from .machine import SurfaceMachine


def test_the_public_surface_keeps_the_policy(template: tuple[Path, str]) -> None:
    data_dir, url = template

    class Machine(SurfaceMachine):
        pass

    Machine.template, Machine.database_url = data_dir, url
    profile = settings.get_profile(PROFILE)
    budget = float(os.environ.get("PROVE_BUDGET", "0"))
    deadline = time.monotonic() + budget
    rounds = 0
    while True:
        run_state_machine_as_test(Machine, settings=profile)
        rounds += 1
        if time.monotonic() >= deadline:
            break
    print(f"prove: {rounds} round(s) of {profile.max_examples} examples")  # noqa: T201 - the run's summary
