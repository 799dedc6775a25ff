"""Global Privacy Control and Do-Not-Track: reading the signal, and what it counts as.

`Sec-GPC: 1` (only the exact value "1", per the GPC specification) and `DNT: 1` count as an
objection to analytics and to marketing for this visitor (C24; Art. 21(5) GDPR; LG Berlin,
16 O 420/19). Analytics (issue 7) asks `opted_out(request)`; when the visitor is a known
subject, `record_signal_objection` writes it to the ledger once, with channel `gpc`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Depends
from sqlalchemy.orm import Session
from starlette.requests import Request

from schutz.consent.models import ConsentAction, ConsentChannel
from schutz.consent.service import ConsentState, current_state, record_consent
from schutz.policy.schema import Policy

Signal = Literal["gpc", "dnt"]

OBJECTS_TO = ("web_analytics", "direct_marketing")
"""Purposes a signal objects to; direct marketing covers every direct-marketing purpose."""


def read_signal(request: Request) -> Signal | None:
    """`gpc`, `dnt` or None; GPC wins when both are sent. Also kept on `request.state`."""
    signal: Signal | None = None
    if request.headers.get("sec-gpc") == "1":
        signal = "gpc"
    elif request.headers.get("dnt") == "1":
        signal = "dnt"
    request.state.privacy_signal = signal
    return signal


def opted_out(request: Request) -> bool:
    """True when the visitor asked not to be tracked: nothing may be stored for analytics."""
    return read_signal(request) is not None


PrivacySignalDep = Annotated[Signal | None, Depends(read_signal)]


def record_signal_objection(
    session: Session,
    policy: Policy,
    subject_id: str,
    signal: Signal,
    *,
    actor: str,
    now: datetime,
) -> list[str]:
    """Record the signal as an objection for a known subject, once; return the purposes written.

    A purpose already under objection gets no second event, so a signal sent with every
    request adds to the ledger only the first time.
    """
    states = current_state(session, policy, subject_id)
    written = []
    for purpose in OBJECTS_TO:
        if purpose not in policy.purposes or states.get(purpose) is ConsentState.OBJECTED:
            continue
        record_consent(
            session,
            policy,
            subject_id=subject_id,
            purpose=purpose,
            action=ConsentAction.OBJECT.value,
            channel=ConsentChannel.GPC.value,
            evidence=f"header:{'Sec-GPC' if signal == 'gpc' else 'DNT'}: 1",
            actor=actor,
            now=now,
        )
        written.append(purpose)
    return written
