"""Global Privacy Control and Do-Not-Track: exact values, and one objection per subject."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request

from schutz.clock import utcnow
from schutz.config import BUNDLED_POLICY_DIR
from schutz.consent.models import ConsentEvent
from schutz.consent.service import ConsentState, current_state
from schutz.policy.loader import load_policy_set
from schutz.web.privacy_signals import opted_out, read_signal, record_signal_objection

POLICY = load_policy_set(BUNDLED_POLICY_DIR).latest


def request_with(headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": raw})


@pytest.mark.parametrize(
    ("headers", "signal"),
    [
        ({"Sec-GPC": "1"}, "gpc"),
        ({"DNT": "1"}, "dnt"),
        ({"Sec-GPC": "1", "DNT": "0"}, "gpc"),
        ({"Sec-GPC": "true"}, None),
        ({"Sec-GPC": " 1"}, None),
        ({"Sec-GPC": "0"}, None),
        ({"DNT": "0"}, None),
        ({}, None),
    ],
)
def test_only_the_exact_value_one_counts(headers: dict[str, str], signal: str | None) -> None:
    request = request_with(headers)
    assert read_signal(request) == signal
    assert request.state.privacy_signal == signal
    assert opted_out(request) is (signal is not None)


def test_a_known_subject_gets_one_gpc_objection_however_often_it_is_sent(
    session: Session,
) -> None:
    first = record_signal_objection(session, POLICY, "s1", "gpc", actor="subject", now=utcnow())
    second = record_signal_objection(session, POLICY, "s1", "gpc", actor="subject", now=utcnow())

    assert first == ["web_analytics", "direct_marketing"]
    assert second == []
    events = session.scalars(select(ConsentEvent)).all()
    assert {(e.channel, e.action) for e in events} == {("gpc", "object")}
    assert current_state(session, POLICY, "s1")["direct_marketing"] is ConsentState.OBJECTED
