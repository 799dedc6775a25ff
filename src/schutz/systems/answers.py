"""What each system answered for a request, and the data it gave for an access package.

An answer moves the system's row from pending to done or failed with an update that must
touch exactly one row (invariant 7): twenty parallel answers record one, and a repeat of the
same answer is a no-op. Data for the package is sealed under the subject's data key, so an
erasure shreds it with the rest (Art. 17 GDPR).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from schutz.errors import Conflict, InvalidInput, NotFound
from schutz.systems.models import Answer, RequestSystem
from schutz.vault import service as vault
from schutz.vault.keys import Keyring

SEALED_DATA = "system.data"
SEALED_NOTE = "system.note"
MAX_DATA_BYTES = 256 * 1024
NOTE_MAX = 1000


def _row(session: Session, request_id: str, system: str) -> RequestSystem:
    row = session.get(RequestSystem, (request_id, system)) if len(system) <= 64 else None
    if row is None:
        raise NotFound("no such request")
    return row


def record_answer(
    session: Session,
    keyring: Keyring,
    request_id: str,
    system: str,
    status: str,
    note: str | None,
    *,
    subject_id: str | None,
    now: datetime,
) -> bool:
    """Record `system`'s answer; True if this call changed it, False for a repeat.

    The note is free text from another system, so it may name the person whatever we ask:
    it is kept sealed under the subject's data key (an erasure shreds it), never in plaintext.
    Raises `NotFound` when the system was not asked for this request and `Conflict` when it
    answered differently before.
    """
    if status not in (Answer.DONE.value, Answer.FAILED.value):
        raise InvalidInput("status: use done or failed")
    text = (note or "").strip()[:NOTE_MAX]
    clean = None
    if text and subject_id is not None:
        sealed = vault.seal_for_subject(
            session, keyring, subject_id, text.encode("utf-8"), context=SEALED_NOTE
        )
        clean = base64.b64encode(sealed).decode("ascii")
    result = session.execute(
        update(RequestSystem)
        .where(
            RequestSystem.request_id == request_id,
            RequestSystem.system == system,
            RequestSystem.status == Answer.PENDING.value,
        )
        .values(status=status, note=clean, answered_at=now)
        .execution_options(synchronize_session=False)
    )
    if cast("CursorResult[Any]", result).rowcount == 1:
        return True
    row = _row(session, request_id, system)
    session.refresh(row)
    if row.status != status:
        raise Conflict(f"this system has already answered {row.status}")
    return False


def store_data(
    session: Session,
    keyring: Keyring,
    request_id: str,
    system: str,
    subject_id: str,
    data: Any,
) -> None:
    """Keep what `system` holds of the subject for the access package, sealed."""
    row = _row(session, request_id, system)
    if row.status != Answer.PENDING.value:
        raise Conflict("send the data before answering done")
    plain = json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")
    if len(plain) > MAX_DATA_BYTES:
        raise InvalidInput(f"data: at most {MAX_DATA_BYTES} bytes")
    row.data_sealed = vault.seal_for_subject(
        session, keyring, subject_id, plain, context=SEALED_DATA
    )
    session.flush()


def forget_requests(session: Session, request_ids: Iterable[str]) -> None:
    """Drop what the systems gave for these requests (their data and notes): on erasure, also
    under a legal hold, which keeps the subject's key but covers none of it."""
    session.execute(
        update(RequestSystem)
        .where(RequestSystem.request_id.in_(list(request_ids)))
        .values(data_sealed=None, note=None)
        .execution_options(synchronize_session=False)
    )


def pending(session: Session, request_id: str) -> list[str]:
    return list(
        session.scalars(
            select(RequestSystem.system).where(
                RequestSystem.request_id == request_id,
                RequestSystem.status == Answer.PENDING.value,
            )
        )
    )


def answers_of(session: Session, request_ids: Iterable[str]) -> dict[str, list[RequestSystem]]:
    """Each request's systems and their answers, for the staff queue and the API."""
    ids = list(request_ids)
    found: dict[str, list[RequestSystem]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = session.scalars(
        select(RequestSystem)
        .where(RequestSystem.request_id.in_(ids))
        .order_by(RequestSystem.request_id, RequestSystem.system)
    )
    for row in rows:
        found[row.request_id].append(row)
    return found


def data_for_package(
    session: Session, keyring: Keyring, request_id: str, subject_id: str
) -> dict[str, Any]:
    """What each system gave for the access package, opened; empty once erased."""
    out: dict[str, Any] = {}
    for row in answers_of(session, [request_id])[request_id]:
        if row.data_sealed is None:
            continue
        try:
            plain = vault.open_for_subject(
                session, keyring, subject_id, row.data_sealed, context=SEALED_DATA
            )
        except NotFound:
            return {}
        out[row.system] = json.loads(plain)
    return out
