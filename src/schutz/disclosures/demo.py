"""Demo seeding: point every processor of the policy at its sandbox under `/sandbox/{name}`."""

from __future__ import annotations

import os
import secrets
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from schutz.config import Settings
from schutz.disclosures.endpoints import set_endpoint
from schutz.policy.loader import load_policy_set

SECRETS_DIR = "sandbox-secrets"


def _secret_file(directory: Path, recipient: str) -> Path:
    """`<data_dir>/sandbox-secrets/<recipient>.key`, made once with mode 0600."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / f"{recipient}.key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(32) + "\n")
    return path


def seed_demo_recipients(
    session: Session, settings: Settings, *, base_url: str, now: datetime
) -> list[str]:
    """Configure each recipient of the policy in force to deliver to its sandbox.

    Safe to call on every `schutz serve --demo`: the secrets are made once and kept, and
    the URLs follow `base_url` (the port may change between runs). Flushes, never commits.
    """
    policy = load_policy_set(settings.policy).in_force(now.date())
    directory = settings.data_dir / SECRETS_DIR
    done = []
    for recipient in policy.recipients:
        set_endpoint(
            session,
            policy,
            recipient,
            url=f"{base_url.rstrip('/')}/sandbox/{recipient}/webhook",
            secret_file=_secret_file(directory, recipient),
            actor="demo",
            now=now,
        )
        done.append(recipient)
    return done
