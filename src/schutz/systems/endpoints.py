"""System endpoints: where each of the operator's systems receives request events.

Only systems the policy names can be configured, like recipients (`disclosures.endpoints`):
the URL rules and the secret file (mode 0600, only its path in the database) are the same.
A system answers with a credential derived from that secret and bound to one request
(`callback_token`), so a stranger learns nothing and a leaked token opens one request only.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.disclosures.endpoints import (
    SecretFileError,
    check_url,
    read_secret,
    secret_readable,
)
from schutz.errors import Denied
from schutz.policy.schema import Policy
from schutz.systems.models import SystemEndpoint

CALLBACK_LABEL = b"schutz-system-callback/1"


@dataclass(frozen=True, slots=True)
class SystemView:
    """A policy system and its endpoint, if any (no secret, only its file's path)."""

    system: str
    name_en: str
    categories: tuple[str, ...]
    url: str | None
    secret_ok: bool


def callback_token(secret: bytes, request_id: str, system: str) -> str:
    """The bearer token `system` answers for `request_id` with: HMAC-SHA256 under its secret."""
    message = CALLBACK_LABEL + b"\n" + request_id.encode("ascii") + b"\n" + system.encode("ascii")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def token_matches(session: Session, system: str, request_id: str, token: str) -> bool:
    """Whether `token` is `system`'s credential for `request_id` (constant-time)."""
    row = session.get(SystemEndpoint, system) if len(system) <= 64 else None
    if row is None or not (request_id.isascii() and system.isascii() and token.isascii()):
        return False  # compare_digest raises on non-ASCII text: a stranger's 500
    try:
        secret = read_secret(row.secret_file)
    except SecretFileError:
        return False
    return hmac.compare_digest(callback_token(secret, request_id, system), token)


def set_endpoint(
    session: Session,
    policy: Policy,
    system: str,
    *,
    url: str,
    secret_file: str | Path,
    actor: str,
    now: datetime,
) -> SystemEndpoint:
    """Point `system` at `url`, signing with the secret in `secret_file` (kept as a path).

    A system the policy does not name is refused and the refusal audited.
    """
    if system not in policy.systems:
        audit.record(
            session,
            actor=actor,
            action="system.endpoint_refused",
            details={"system": system[:64], "policy_version": policy.version},
            now=now,
        )
        known = ", ".join(sorted(policy.systems)) or "none"
        raise Denied(
            f"{system[:64]!r} is not a system named in the policy; known: {known}",
            reason="system not in the policy",
        )
    clean_url = check_url(url)
    path = Path(secret_file).expanduser().resolve()
    read_secret(path)
    row = session.get(SystemEndpoint, system)
    if row is None:
        row = SystemEndpoint(system=system)
        session.add(row)
    row.url, row.secret_file, row.updated_at, row.updated_by = clean_url, str(path), now, actor
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="system.endpoint_set",
        details={"system": system, "host": urlsplit(clean_url).hostname},
        now=now,
    )
    return row


def list_systems(session: Session, policy: Policy) -> list[SystemView]:
    """Every system of the policy, in its order, with its endpoint where one is set."""
    rows = {row.system: row for row in session.scalars(select(SystemEndpoint))}
    views = []
    for key, spec in policy.systems.items():
        row = rows.get(key)
        ok = row is not None and secret_readable(row.secret_file)
        views.append(
            SystemView(
                key, spec.name.get("en"), tuple(spec.categories), row.url if row else None, ok
            )
        )
    return views
