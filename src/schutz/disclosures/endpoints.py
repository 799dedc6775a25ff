"""Recipient endpoints: where each processor named in the policy receives its webhooks.

Only recipients the policy names can be configured (C2), and the policy admits only kind
`processor` (C7): no endpoint can ever point data at a buyer. The signing secret stays in a
file readable by its owner only (mode 0600); the database keeps the file's path, so a copy
of the database is not enough to forge or read signed deliveries.
"""

from __future__ import annotations

import ipaddress
import os
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.disclosures.models import RecipientEndpoint
from schutz.errors import Denied, InvalidInput
from schutz.policy.schema import Policy

MIN_SECRET_BYTES = 16
_LOOPBACK_NAMES = frozenset({"localhost"})


class SecretFileError(InvalidInput):
    """The secret file is missing, unsafe (readable by others) or too short."""


@dataclass(frozen=True, slots=True)
class EndpointView:
    """A policy recipient and its configuration, if any (no secret, only its file's path)."""

    recipient: str
    name_en: str
    name_de: str
    purposes: tuple[str, ...]
    categories: tuple[str, ...]
    url: str | None
    secret_file: str | None
    secret_ok: bool
    updated_at: datetime | None


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> str:
    """An https URL, or http to a loopback host (a local sandbox); nothing else leaves."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("the endpoint URL must be an http(s) URL with a host")
    if parts.username or parts.password:
        raise InvalidInput("the endpoint URL must not carry credentials; use the secret file")
    if parts.fragment:
        raise InvalidInput("the endpoint URL must not have a fragment")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise InvalidInput("the endpoint URL must use https (plain http only to localhost)")
    return parts.geturl()


def read_secret(path: str | Path) -> bytes:
    """The signing secret in `path`, which must be a regular file only its owner can read."""
    target = Path(path)
    try:
        info = target.stat()
    except OSError as exc:
        raise SecretFileError(
            f"secret file {target} cannot be read ({type(exc).__name__})"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise SecretFileError(f"secret file {target} is not a regular file")
    if info.st_mode & 0o077:
        raise SecretFileError(
            f"secret file {target} is readable by others (mode {stat.S_IMODE(info.st_mode):o});"
            " chmod 600 it"
        )
    if info.st_uid != os.getuid():
        raise SecretFileError(f"secret file {target} belongs to another user")
    secret = target.read_bytes().strip()
    if len(secret) < MIN_SECRET_BYTES:
        raise SecretFileError(f"secret file {target} holds fewer than {MIN_SECRET_BYTES} bytes")
    return secret


def _refuse_unknown(
    session: Session, policy: Policy, recipient: str, *, actor: str, now: datetime
) -> None:
    spec = policy.recipients.get(recipient)
    if spec is not None and spec.kind == "processor":
        return
    audit.record(
        session,
        actor=actor,
        action="disclosure.endpoint_refused",
        details={"recipient": recipient[:64], "policy_version": policy.version},
        now=now,
    )
    known = ", ".join(sorted(policy.recipients))
    raise Denied(
        f"{recipient[:64]!r} is not a processor named in the policy; known: {known}",
        reason="recipient not in the policy (C2, C7)",
    )


def set_endpoint(
    session: Session,
    policy: Policy,
    recipient: str,
    *,
    url: str,
    secret_file: str | Path,
    actor: str,
    now: datetime,
) -> RecipientEndpoint:
    """Point `recipient` at `url`, signing with the secret in `secret_file` (kept as a path).

    A recipient the policy does not name is refused and the refusal audited (C2, C7).
    """
    _refuse_unknown(session, policy, recipient, actor=actor, now=now)
    clean_url = check_url(url)
    path = Path(secret_file).expanduser().resolve()
    read_secret(path)
    row = session.get(RecipientEndpoint, recipient)
    if row is None:
        row = RecipientEndpoint(recipient=recipient)
        session.add(row)
    row.url, row.secret_file, row.updated_at, row.updated_by = clean_url, str(path), now, actor
    session.flush()
    host = urlsplit(clean_url).hostname
    audit.record(
        session,
        actor=actor,
        action="disclosure.endpoint_set",
        details={"recipient": recipient, "host": host, "policy_version": policy.version},
        now=now,
    )
    return row


def secret_readable(path: str | Path) -> bool:
    """Whether the secret file is there, private and usable (for listings, never raising)."""
    try:
        read_secret(path)
    except SecretFileError:
        return False
    return True


def get_endpoint(session: Session, recipient: str) -> RecipientEndpoint | None:
    return session.get(RecipientEndpoint, recipient)


def list_endpoints(session: Session, policy: Policy) -> list[EndpointView]:
    """Every recipient of the policy, in its order, with its endpoint where one is set."""
    rows = {row.recipient: row for row in session.scalars(select(RecipientEndpoint))}
    views = []
    for key, spec in policy.recipients.items():
        row = rows.get(key)
        secret_ok = row is not None and secret_readable(row.secret_file)
        views.append(
            EndpointView(
                recipient=key,
                name_en=spec.name.get("en"),
                name_de=spec.name.get("de"),
                purposes=tuple(spec.purposes),
                categories=tuple(spec.categories),
                url=row.url if row else None,
                secret_file=row.secret_file if row else None,
                secret_ok=secret_ok,
                updated_at=row.updated_at if row else None,
            )
        )
    return views
