"""Builders for the systems tests: a policy naming a system, its secret, its endpoint."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from schutz.clock import utcnow
from schutz.config import BUNDLED_POLICY_DIR, Settings
from schutz.db import transaction
from schutz.policy.loader import load_policy_set
from schutz.systems.endpoints import set_endpoint

SYSTEMS = """
systems:
  shop_database:
    name: {en: Shop database, de: Shop-Datenbank}
    categories: [user.contact.email, user.name]
"""
SECRET = b"shop-database-signing-secret-0123456789"


def policy_with_systems(folder: Path, text: str = SYSTEMS) -> Path:
    """The bundled policies, the 2026 one with a `systems:` section; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in BUNDLED_POLICY_DIR.glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    current = folder / "gigaset-2026-11.yaml"
    current.write_text(current.read_text() + text)
    return folder


def secret_file(folder: Path, secret: bytes = SECRET) -> Path:
    path = folder / "shop_database.secret"
    path.write_bytes(secret)
    path.chmod(0o600)
    return path


def point_system(sessions: sessionmaker[Session], settings: Settings, url: str) -> None:
    """`schutz systems set shop_database --url URL --secret-file ...`, in process."""
    policy = load_policy_set(settings.policy).in_force(utcnow().date())
    with transaction(sessions) as session:
        set_endpoint(
            session, policy, "shop_database", url=url,
            secret_file=secret_file(settings.data_dir), actor="cli", now=utcnow(),
        )  # fmt: skip
