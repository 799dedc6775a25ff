"""Recipient endpoints: only the policy's processors, https or loopback, 0600 secret files."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from schutz.audit.models import AuditEntry
from schutz.disclosures.endpoints import (
    SecretFileError,
    check_url,
    list_endpoints,
    read_secret,
    set_endpoint,
)
from schutz.errors import Denied, InvalidInput
from schutz.policy.engine import Engine

from .builders import NOW, secret_file


def test_an_endpoint_is_kept_with_the_path_of_its_secret_not_the_secret(
    session: Session, rules: Engine, tmp_path: Path
) -> None:
    path = secret_file(tmp_path, secret="topsecret-" + "x" * 30)

    set_endpoint(
        session,
        rules.policy,
        "freight_carrier",
        url="https://carrier.example/hooks/schutz",
        secret_file=path,
        actor="cli",
        now=NOW,
    )

    views = {v.recipient: v for v in list_endpoints(session, rules.policy)}
    assert list(views) == ["freight_carrier", "payment_service_provider", "bank"]
    carrier = views["freight_carrier"]
    assert carrier.url == "https://carrier.example/hooks/schutz"
    assert carrier.secret_file == str(path.resolve())
    assert carrier.secret_ok
    assert views["bank"].url is None
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "disclosure.endpoint_set")
    ).one()
    assert "topsecret" not in str(entry.details)


@pytest.mark.parametrize("recipient", ["data_broker", "advertiser", "freight_carrier_2"])
def test_a_recipient_not_in_the_policy_cannot_be_configured_and_the_attempt_is_audited(
    session: Session, rules: Engine, tmp_path: Path, recipient: str
) -> None:
    with pytest.raises(Denied, match="not a processor named in the policy"):
        set_endpoint(
            session,
            rules.policy,
            recipient,
            url="https://buyer.example/",
            secret_file=secret_file(tmp_path),
            actor="cli",
            now=NOW,
        )

    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "disclosure.endpoint_refused")
    ).one()
    assert entry.details["recipient"] == recipient


@pytest.mark.parametrize(
    "url",
    [
        "http://carrier.example/hook",
        "ftp://carrier.example/",
        "https://user:pw@carrier.example/",
        "https:///nohost",
        "carrier.example",
        "https://carrier.example/#frag",
    ],
)
def test_unsafe_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidInput):
        check_url(url)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/sandbox/bank/webhook", "http://localhost/x", "http://[::1]/"]
)
def test_plain_http_is_allowed_to_loopback_only(url: str) -> None:
    assert check_url(url) == url


def test_a_secret_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = secret_file(tmp_path)
    path.chmod(0o644)
    with pytest.raises(SecretFileError, match="chmod 600"):
        read_secret(path)


@pytest.mark.parametrize("content", ["", "short"])
def test_a_secret_that_is_too_short_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "s"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(SecretFileError):
        read_secret(path)


def test_a_missing_secret_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SecretFileError, match="cannot be read"):
        read_secret(tmp_path / "absent")
