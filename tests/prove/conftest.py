"""Settings profiles of the model test, and a `schutz init` template per backend.

`ci` (the default, what `make test` runs): seeded (`derandomize`), few short examples, no
example database. `prove` (what `make prove` selects through PROVE_PROFILE): random, long
sequences, and the example database in `.hypothesis-prove/` (gitignored) so that every
failure found is replayed first on the next run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from .harness import make_template

ROOT = Path(__file__).resolve().parents[2]
_SLOW = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]

settings.register_profile(
    "ci",
    derandomize=True,
    # No shrinking in the bounded run: it would keep `make test` busy for minutes. The
    # failing sequence is printed as found; `make prove` shrinks.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    database=None,
    max_examples=4,
    stateful_step_count=8,
    deadline=None,
    suppress_health_check=_SLOW,
    print_blob=True,
)
settings.register_profile(
    "prove",
    derandomize=False,
    database=DirectoryBasedExampleDatabase(str(ROOT / ".hypothesis-prove")),
    max_examples=25,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=_SLOW,
    print_blob=True,
)
settings.register_profile(
    "hunt",  # seeded, but long enough to find the attacks of the trust issue on old code
    derandomize=True,
    database=None,
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=_SLOW,
    print_blob=True,
)
PROFILE = os.environ.get("PROVE_PROFILE", "ci")


@pytest.fixture(params=["sqlite", "postgresql"])
def template(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """(data directory after `schutz init`, database URL) for one backend."""
    root = tmp_path_factory.mktemp(f"prove-{request.param}")
    if request.param == "sqlite":
        return make_template(root, None), "sqlite://"
    url: str = request.getfixturevalue("pg_schema_url")
    return make_template(root, url), url
