"""Schemathesis against /api/v1/openapi.json, in process: no 5xx, no answer off its schema.

Every operation gets 25 valid and 25 invalid requests (a fixed seed: the same requests on
every run), each sent with a key of a role drawn from all six, or with none. A failure is
collected rather than raised, so one run reports every distinct one, with a curl line.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as run_settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy.orm import Session

from schutz.clock import utcnow
from schutz.config import Settings
from schutz.identity.roles import API_KEY_ROLES
from schutz.identity.service import create_api_key
from schutz.web.app import create_app

EXAMPLES = 25
CHECKS = [not_a_server_error, response_schema_conformance]
Headers = dict[str | None, dict[str, str]]


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    app = create_app(settings.model_copy(update={"rate_limit_collect": "off"}))
    yield app
    app.state.engine.dispose()


@pytest.fixture
def keys(session: Session) -> Headers:
    """Authorization headers by role; None sends no key."""
    headers: Headers = {None: {}}
    for role in API_KEY_ROLES:
        _, key = create_api_key(session, name=f"fuzz-{role}", role=role, actor="cli", now=utcnow())
        headers[role] = {"Authorization": f"Bearer {key}"}
    session.commit()
    return headers


def fuzz(operation: Any, mode: GenerationMode, keys: Headers, failures: dict[str, str]) -> int:
    """Send EXAMPLES generated requests for one operation; return how many were sent."""
    sent = 0

    @run_settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=operation.as_strategy(generation_mode=mode),
        role=st.sampled_from([None, *API_KEY_ROLES]),
    )
    def probe(case: schemathesis.Case, role: str | None) -> None:
        nonlocal sent
        sent += 1
        try:
            case.call_and_validate(headers=keys[role], checks=CHECKS)
        except Exception as exc:
            first = str(exc).strip().splitlines()[:12]
            failures.setdefault(
                f"{operation.label} ({role or 'no key'}, {mode.value})",
                "\n".join(first) + "\n" + case.as_curl_command(headers=keys[role]),
            )

    try:
        probe()
    except Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE  # nothing to get wrong: no parameters
    return sent


def test_no_operation_answers_5xx_or_off_its_schema(app: FastAPI, keys: Headers) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    failures: dict[str, str] = {}
    sent: dict[str, int] = {}
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            sent[operation.label] = sent.get(operation.label, 0) + fuzz(
                operation, mode, keys, failures
            )

    assert len(sent) >= 15, sent  # every documented operation was exercised
    # Operations without parameters have only the key to vary: 1 + 6 roles.
    assert min(sent.values()) >= 1 + len(API_KEY_ROLES), sent
    assert not failures, "\n\n".join(f"{k}\n{v}" for k, v in failures.items())
