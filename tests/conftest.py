"""Shared fixtures: real databases (SQLite and PostgreSQL), settings in a temporary data dir,
and the web app with a TestClient and API keys.

Database tests take the `db_url` fixture, which runs them once on SQLite and once on
PostgreSQL. Each backend's schema is built once per run by the migrations; after each test
every table is emptied, which works for in-process sessions, the TestClient and subprocesses
alike. PostgreSQL runs get a schema of their own, so parallel runs never see each other.
In CI (CI=true) a missing PostgreSQL fails the run instead of skipping.

`app` is `create_app(settings)` (closed afterwards), `client` a TestClient on it
that follows redirects unless a module overrides `follow_redirects` to return False, and
`auth("dpo")` headers with a fresh API key of that role; `rules` is the bundled policy's
engine and `keyring` the vault's keys in the data dir. Helpers that are no fixtures sit in
tests/webapp.py, builders of records in tests/records.py.

What costs and is the same in every test is done once: in this process passwords are hashed
with the cheapest argon2id parameters (production ones cost a quarter of a CPU second per
hash; `production_passwords` brings them back for the tests of the parameters themselves),
and the bundled policy files are parsed once. Subprocesses (the CLI, real servers) run with
the production code paths untouched.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from playwright.sync_api import Playwright, sync_playwright
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

import live
import schutz.clock
from schutz.audit.keys import write_new_audit_key
from schutz.config import BUNDLED_POLICY_DIR, Settings
from schutz.db import make_engine, make_session_factory, migrate
from schutz.identity import passwords
from schutz.models import metadata
from schutz.policy import loader
from schutz.policy.engine import Engine as Rules
from schutz.policy.loader import load_policy_set
from schutz.policy.schema import Policy
from schutz.vault.keys import Keyring, load_keyring
from schutz.web.app import create_app
from webapp import Headers, TestClient, api_keys, close_app

IN_CI = os.environ.get("CI", "").lower() == "true"
# One audit key for the whole run, here and in every subprocess (they inherit the
# environment): a chain a server process wrote verifies in the test, and the other way round.
AUDIT_KEY_FILE = Path(tempfile.mkdtemp(prefix="schutz-audit-key-")) / "audit.key"
write_new_audit_key(AUDIT_KEY_FILE)
os.environ["SCHUTZ_AUDIT_KEY_FILE"] = str(AUDIT_KEY_FILE)
PG_BASE_URL = os.environ.get(
    "SCHUTZ_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _pg_available(url: str) -> str | None:
    try:
        engine = make_engine(url)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return None


TESTS_DIR = Path(__file__).parent
# Fixtures that drive Chromium, and fixtures that start real server or worker processes.
BROWSER_FIXTURES = frozenset({"browser", "page", "no_js_page"})
PROCESS_FIXTURES = frozenset(
    {"live_server", "server", "real_server", "schutz_server", "demo_server", "smtp_server"}
)

PRODUCTION_HASHER = passwords._hasher
# The lowest cost argon2id accepts: a staff fixture with five users would otherwise spend
# over a second of CPU per test. A hash keeps its parameters, so the production code checks
# these hashes too (and upgrades them on sign-in, as it would any weaker hash).
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", CHEAP_HASHER)
        passwords._dummy_hash.cache_clear()
        yield
    passwords._dummy_hash.cache_clear()


@pytest.fixture
def production_passwords(monkeypatch: pytest.MonkeyPatch) -> Iterator[PasswordHasher]:
    """The argon2id parameters production uses, for the test of those parameters."""
    monkeypatch.setattr(passwords, "_hasher", PRODUCTION_HASHER)
    passwords._dummy_hash.cache_clear()
    yield PRODUCTION_HASHER
    passwords._dummy_hash.cache_clear()


_parse_policy_file = loader.load_policy
_BUNDLED = BUNDLED_POLICY_DIR.resolve()
_bundled_policies: dict[tuple[Path, int, int], Policy] = {}


def _load_policy_once(path: Path | str) -> Policy:
    """`load_policy`, parsing each bundled file once per run (they are read-only package data;
    an edited file is parsed again). Any other file is parsed each time, errors and all."""
    resolved = Path(path).resolve()
    if resolved.parent != _BUNDLED:
        return _parse_policy_file(path)
    stat = resolved.stat()
    key = (resolved, stat.st_mtime_ns, stat.st_size)
    if key not in _bundled_policies:
        _bundled_policies[key] = _parse_policy_file(path)
    return _bundled_policies[key]


@pytest.fixture(scope="session", autouse=True)
def _bundled_policy_parsed_once() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loader, "load_policy", _load_policy_once)
        yield


@pytest.fixture(autouse=True)
def _clock_given_back() -> Iterator[None]:
    """A test that fixes `schutz.clock` (the model test does) must give it back: a clock left
    fixed dates every later test's links at that moment, which lapse once the real day passes
    it (CI saw every sign-in link of a later test answer 410)."""
    yield
    if getattr(schutz.clock, "datetime", datetime) is not datetime:
        setattr(schutz.clock, "datetime", datetime)  # noqa: B010 - restores the module's name
        pytest.fail("this test left schutz.clock fixed", pytrace=False)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Let `live.require_mark` see the markers of the test whose fixtures are being set up."""
    live.running_marks = {mark.name for mark in item.iter_markers()}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by what they start, so `-m "not browser"` and `-m "not slow"` mean it.

    A marker written by hand is forgotten by the next test in the file; the directory and the
    fixtures a test takes say it reliably. A test that starts a server or Chromium some other
    way carries its marker by hand, and `live.require_mark` fails it if the marker is missing,
    so it cannot slip into a `-m "not slow"` run.
    """
    for item in items:
        where = Path(str(item.path)).relative_to(TESTS_DIR).parts[0]
        names = set(getattr(item, "fixturenames", ()))
        if where == "browser" or names & BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)
        if where in {"browser", "crash"} or names & PROCESS_FIXTURES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    """One Playwright for the whole run: a second `sync_playwright()` in the same process
    refuses to start while the first is running ("Sync API inside the asyncio loop"), so
    every directory's browser fixture launches its Chromium from this one."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    """A URL pointing at a fresh PostgreSQL schema for this test run, dropped afterwards."""
    problem = _pg_available(PG_BASE_URL)
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI and is not reachable: {problem}")
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_BASE_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_BASE_URL else "?"
    yield f"{PG_BASE_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'schutz.db'}"


_migrated: dict[str, Engine] = {}


def _migrated_engine(url: str) -> Engine:
    if url not in _migrated:
        engine = make_engine(url)
        migrate(engine)
        _migrated[url] = engine
    return _migrated[url]


def _empty_all_tables(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated database URL, once per backend; every table is emptied after the test."""
    if request.param == "sqlite":
        url = request.getfixturevalue("sqlite_url")
    else:
        url = request.getfixturevalue("pg_schema_url")
    engine = _migrated_engine(url)
    yield url
    _empty_all_tables(engine)


@pytest.fixture
def engine(db_url: str) -> Engine:
    return _migrated[db_url]


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    factory = make_session_factory(engine)
    with factory() as s:
        yield s


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Settings for a Schutz instance in a temporary data dir on the test's database."""
    return Settings(data_dir=tmp_path / "data", database_url=db_url)


@pytest.fixture(scope="session")
def rules() -> Rules:
    """The bundled policy's engine for version 2026-11."""
    return load_policy_set(BUNDLED_POLICY_DIR).engine("2026-11")


@pytest.fixture
def keyring(settings: Settings) -> Keyring:
    """The vault keyring in the test's data dir (created on first use)."""
    return load_keyring(settings)


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    """The whole app on the test's settings; afterwards its analytics batch is written and
    its engine disposed."""
    app = create_app(settings)
    yield app
    close_app(app)


@pytest.fixture
def follow_redirects() -> bool:
    """Whether `client` follows redirects; modules that look at redirects return False."""
    return True


@pytest.fixture
def client(app: FastAPI, follow_redirects: bool) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=follow_redirects) as test_client:
        yield test_client


@pytest.fixture
def auth(engine: Engine) -> Headers:
    """`auth("support")`: headers with a fresh API key of that role."""
    return api_keys(engine)


@pytest.fixture(scope="session", autouse=True)
def _dispose_engines() -> Iterator[None]:
    yield
    for engine in _migrated.values():
        engine.dispose()
    shutil.rmtree(AUDIT_KEY_FILE.parent, ignore_errors=True)
