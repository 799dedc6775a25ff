"""No personal value rests in plaintext, through any entrance, and an erasure leaves none behind.

One marker goes in through every entrance of a running demo installation (API intake, demo
shop checkout, contact form, newsletter sign-up, a request's details). Then no file in the
data directory (besides the delivered .eml mail) and no database table holds it. After the
erasure is approved and `schutz retention run` has run, nothing does: not the data
directory, the outbox folder included, and not a backup taken afterwards (decrypted here).
SQLite files are read from a child process (tests/sqlite_files.py); PostgreSQL is read
table by table, text columns as text and bytea as bytes.
"""

from __future__ import annotations

import email
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from email import policy as email_policy
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, inspect, text

from disclosures.demo_server import DemoServer, demo_server
from schutz.backup.sealed import read_header, unseal
from schutz.config import Settings
from schutz.db import make_engine
from schutz.models import metadata
from schutz.vault.keys import load_keyring
from sqlite_files import read_out_of_process

pytestmark = pytest.mark.slow

CLI = "from schutz.cli.main import run; run()"
WAIT_SECONDS = 30.0


class Marker:
    """One unique token, written with a non-ASCII letter so that UTF-8 matters."""

    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:10]
        self.word = f"Zörnix{self.tag}"
        self.email = f"zornix.{self.tag}@example.org"

    def found_in(self, raw: bytes) -> bool:
        """Whether `raw` holds the marker: as UTF-8, JSON-escaped or in any letter case."""
        lowered = raw.lower()
        return (
            self.word.encode("utf-8") in raw
            or self.word.lower().encode("utf-8") in lowered
            or f"rnix{self.tag}".encode() in lowered
            or f"rnix.{self.tag}".encode() in lowered
        )


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """None: SQLite in the data directory; else this run's PostgreSQL schema, emptied after."""
    if request.param == "sqlite":
        yield None
        return
    url: str = request.getfixturevalue("pg_schema_url")
    yield url
    engine = make_engine(url)
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()


def _form_token(html: str) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def _cart_token(html: str) -> str:
    found = re.search(r'name="cart" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def _plant(web: httpx.Client, server: DemoServer, marker: Marker) -> str:
    """The marker through every entrance; returns the erasure request's id."""
    shop = {"Authorization": f"Bearer {server.shop_key}"}
    address = {"street": f"{marker.word}weg 1", "postal_code": "40549", "city": "Düsseldorf"}
    intake = web.post("/api/v1/subjects", headers=shop, json={
        "source": "order", "purposes": ["order_processing", "billing"],
        "data": {"email": marker.email, "name": f"Ada {marker.word}",
                 "postal_address": {**address, "country": "DE"}},
    })  # fmt: skip
    assert intake.status_code in (200, 201), intake.text
    cart = web.post("/shop/cart", data={"sku": "CL390", "cart": _cart_token(web.get("/shop").text)})
    bought = web.post("/shop/checkout", data={
        "cart": _cart_token(cart.text), "name": f"Ada {marker.word}", "email": marker.email,
        **address, "country": "DE", "method": "card",
    })  # fmt: skip
    assert bought.status_code == 200, bought.text
    contact = web.post("/contact", data={
        "kind": "question", "email": marker.email, "name": f"Ada {marker.word}",
        "message": f"Where is my order, {marker.word}?",
        "form_token": _form_token(web.get("/contact").text),
    })  # fmt: skip
    assert contact.status_code == 200, contact.text
    signup = web.post("/newsletter", data={
        "email": marker.email, "form_token": _form_token(web.get("/newsletter").text),
    })  # fmt: skip
    assert signup.status_code == 200, signup.text
    request = web.post("/api/v1/requests", headers=shop, json={
        "kind": "erasure", "email": marker.email, "channel": "api",
        "details": f"Please forget {marker.word} entirely.",
    })  # fmt: skip
    assert request.status_code == 202, request.text
    request_id: str = request.json()["request_id"]
    return request_id


def _verify_link(outbox: Path, request_id: str) -> str:
    """The link of the request's verification mail, once the worker has written it."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        for path in outbox.glob("*.eml") if outbox.is_dir() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=email_policy.default)
            body = message.get_body(("plain",))
            content = body.get_content() if body is not None else ""
            if request_id in content and "/requests/verify?token=" in content:
                found = re.search(r"/requests/verify\?token=\S+", content)
                assert found
                return found.group(0)
        time.sleep(0.1)  # the live server's worker writes the mail; nothing to flush here
    pytest.fail("the verification mail was never written")


def _outbox_settled(engine: Engine) -> None:
    """Wait until the live worker has delivered every queued mail and webhook."""
    deadline = time.monotonic() + WAIT_SECONDS
    query = text("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')")
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(query).scalar_one() == 0:
                return
        time.sleep(0.1)  # the live server's worker delivers; nothing to flush here
    pytest.fail("the outbox never emptied")


def _files(data_dir: Path, *, skip_delivered: bool = False) -> dict[str, bytes]:
    """Every file under the data directory, read from a child process (SQLite's locks)."""
    found: dict[str, bytes] = {}
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        if skip_delivered and path.suffix == ".eml":
            continue
        found[str(path.relative_to(data_dir))] = read_out_of_process(path)
    return found


def _postgres_values(engine: Engine) -> dict[str, bytes]:
    """Every value of every table in the schema: text columns as text, bytea as bytes."""
    found: dict[str, bytes] = {}
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            columns = inspect(conn).get_columns(table)
            for column in columns:
                name = column["name"]
                binary = "BYTEA" in str(column["type"]).upper()
                select = f'SELECT "{name}"{"" if binary else "::text"} FROM "{table}"'  # noqa: S608 - names from the catalogue
                values = [v for v in conn.execute(text(select)).scalars() if v is not None]
                found[f"{table}.{name}"] = b"\0".join(
                    bytes(v) if binary else str(v).encode("utf-8") for v in values
                )
    return found


def _holding(stores: dict[str, bytes], marker: Marker) -> list[str]:
    return [where for where, raw in stores.items() if marker.found_in(raw)]


def _schutz(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SCHUTZ_DATA_DIR": str(settings.data_dir),
        "SCHUTZ_DATABASE_URL": settings.resolved_database_url,
    }
    done = subprocess.run(
        [sys.executable, "-c", CLI, *args], env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


def _backup_plaintext(settings: Settings, work: Path) -> bytes:
    """A new `schutz backup`, decrypted with the installation's keyring."""
    path = Path(_schutz(settings, "backup").stdout.strip().splitlines()[-1])
    with path.open("rb") as stream:
        header, prefix = read_header(stream)
        secret = load_keyring(settings).get(header.key_id).secret
        plain = b"".join(unseal(stream, header, prefix, secret))
    if header.backend != "postgresql":
        return plain
    archive = work / "backup.dump"
    archive.write_bytes(plain)
    pg_restore = shutil.which("pg_restore")
    assert pg_restore is not None, "pg_restore is not installed"
    return subprocess.run(
        [pg_restore, "-f", "-", str(archive)], capture_output=True, check=True
    ).stdout


def test_a_marker_planted_through_every_entrance_rests_nowhere_in_plaintext_and_goes_with_erasure(
    tmp_path: Path, database_url: str | None
) -> None:
    marker = Marker()
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, database_url=database_url)
    engine = make_engine(settings.resolved_database_url)
    try:
        with (
            demo_server(data_dir, database_url) as server,
            httpx.Client(base_url=server.base_url, follow_redirects=True, timeout=20) as web,
        ):
            request_id = _plant(web, server, marker)
            _outbox_settled(engine)
            stores = _files(data_dir, skip_delivered=True)
            if database_url is not None:
                stores |= _postgres_values(engine)
            assert any(marker.found_in(p.read_bytes()) for p in data_dir.glob("outbox/*.eml"))
            assert _holding(stores, marker) == []

            verify = web.post(_verify_link(data_dir / "outbox", request_id))
            assert verify.status_code == 200, verify.text
            dpo = {"Authorization": f"Bearer {server.dpo_key}"}
            approved = web.post(f"/api/v1/requests/{request_id}/approve", headers=dpo)
            assert approved.status_code == 200, approved.text
            assert approved.json()["status"] == "completed"
            _outbox_settled(engine)
        _schutz(settings, "retention", "run")

        stores = _files(data_dir)
        if database_url is not None:
            stores |= _postgres_values(engine)
        assert _holding(stores, marker) == []
        assert marker.found_in(_backup_plaintext(settings, tmp_path)) is False
    finally:
        engine.dispose()
