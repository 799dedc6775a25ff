"""Dependencies routes declare: the database session, the policy in force, the language."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session
from starlette.requests import Request

from schutz.clock import utcnow
from schutz.config import Settings
from schutz.identity.signing_secrets import SecretsFile
from schutz.policy.loader import PolicySet
from schutz.policy.schema import Policy
from schutz.web.i18n import pick_language


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def signing_secret(request: Request) -> list[bytes]:
    """The secrets that verify signed links now, the one that signs last (itsdangerous takes
    them so); from `<data_dir>/secret.key`, which create_app opens and `schutz secret rotate`
    changes."""
    secrets: SecretsFile = request.app.state.secret
    return secrets.accepted(utcnow())


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_policies(request: Request) -> PolicySet:
    policies: PolicySet = request.app.state.policies
    return policies


def get_policy(request: Request) -> Policy:
    return get_policies(request).in_force(utcnow().date())


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PoliciesDep = Annotated[PolicySet, Depends(get_policies)]
PolicyDep = Annotated[Policy, Depends(get_policy)]
LangDep = Annotated[str, Depends(pick_language)]
