"""The sandbox processors receive webhooks as a processor should: a replay with a fresh
`Idempotency-Key` is still a repeat, and a malformed signature header is a 400, never a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from schutz.clock import utcnow
from schutz.config import Settings
from schutz.db import make_session_factory, transaction
from schutz.demo.app import create_demo_app
from schutz.disclosures.demo import seed_demo_recipients
from schutz.disclosures.endpoints import get_endpoint, read_secret
from schutz.disclosures.verify import signature_header
from webapp import TestClient, close_app

URL = "/sandbox/freight_carrier/webhook"
BODY = json.dumps({"id": "d-1", "data": {"order_ref": "GS-1"}}).encode()


@pytest.fixture
def sandbox(settings: Settings, engine: Engine) -> Iterator[tuple[TestClient, bytes]]:
    """A demo app with the sandbox routes, and the carrier's signing secret."""
    demo = settings.model_copy(update={"demo": True})
    with transaction(make_session_factory(engine)) as session:
        seed_demo_recipients(session, demo, base_url="http://127.0.0.1:8000", now=utcnow())
        endpoint = get_endpoint(session, "freight_carrier")
        assert endpoint is not None
        secret = read_secret(endpoint.secret_file)
    app = create_demo_app(demo)
    with TestClient(app) as client:
        yield client, secret
    close_app(app)


def test_a_replay_with_a_new_idempotency_key_is_still_a_repeat(
    sandbox: tuple[TestClient, bytes],
) -> None:
    client, secret = sandbox
    signed = signature_header(secret, BODY)

    first = client.post(URL, content=BODY,
                        headers={"Schutz-Signature": signed, "Idempotency-Key": "a"})  # fmt: skip
    replay = client.post(URL, content=BODY,
                         headers={"Schutz-Signature": signed, "Idempotency-Key": "b"})  # fmt: skip
    bare = client.post(URL, content=BODY, headers={"Schutz-Signature": signed})

    assert first.json() == {"received": True, "duplicate": False}
    assert replay.json() == {"received": True, "duplicate": True}
    assert bare.json() == {"received": True, "duplicate": True}


@pytest.mark.parametrize(
    "header",
    [
        "t=\u00b2,v1=" + "0" * 64,
        "t=" + "9" * 5000 + ",v1=" + "0" * 64,
        "t=1",
        "v1=" + "0" * 64,
        "garbage",
    ],
    ids=["non-ascii-digit", "huge-number", "no-signature", "no-time", "no-parts"],
)
def test_a_malformed_signature_header_answers_400(
    sandbox: tuple[TestClient, bytes], header: str
) -> None:
    client, _ = sandbox
    answer = client.post(URL, content=BODY, headers={b"Schutz-Signature": header.encode("latin-1")})
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith("signature refused")


def test_a_signed_body_without_an_id_answers_400(sandbox: tuple[TestClient, bytes]) -> None:
    client, secret = sandbox
    body = b'{"data": {}}'
    answer = client.post(
        URL, content=body, headers={"Schutz-Signature": signature_header(secret, body)}
    )
    assert answer.status_code == 400


def test_a_wrong_signature_answers_401(sandbox: tuple[TestClient, bytes]) -> None:
    client, _ = sandbox
    answer = client.post(URL, content=BODY, headers={"Schutz-Signature": "t=1,v1=00"})
    assert answer.status_code == 401
