"""The outbox's sender for request events and Art. 19 notices: POST the body, signed.

The same scheme as disclosures (`disclosures.webhook`): `Schutz-Signature` over the exact
body, the notice's id as `Idempotency-Key` on every attempt, 2xx delivered, a permanent 4xx
dead, anything else tried again with back-off.
"""

from __future__ import annotations

import weakref
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from schutz.clock import utcnow
from schutz.config import Settings
from schutz.db import transaction
from schutz.disclosures.endpoints import SecretFileError, read_secret
from schutz.disclosures.models import DisclosureStatus, RecipientEndpoint
from schutz.disclosures.verify import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signature_header
from schutz.disclosures.webhook import USER_AGENT, Connect, Poster, RetryableDeliveryError, classify
from schutz.mail.transport import Delivery, PermanentDeliveryError, Sender
from schutz.systems.models import RequestNotice, SystemEndpoint, Target
from schutz.vault.keys import Keyring


def _where(session: Session, notice_id: str) -> tuple[str | None, str | None, bool]:
    """(url, secret file, delivered already) of a notice's target."""
    row = session.get(RequestNotice, notice_id)
    if row is None:
        raise PermanentDeliveryError("no such notice")
    endpoint: SystemEndpoint | RecipientEndpoint | None
    if row.target_kind == Target.SYSTEM.value:
        endpoint = session.get(SystemEndpoint, row.target)
    else:
        endpoint = session.get(RecipientEndpoint, row.target)
    if endpoint is None:
        return None, None, row.delivered_at is not None
    return endpoint.url, endpoint.secret_file, row.delivered_at is not None


def _delivered(session: Session, notice_id: str, now: datetime) -> None:
    session.execute(
        update(RequestNotice)
        .where(RequestNotice.id == notice_id, RequestNotice.delivered_at.is_(None))
        .values(delivered_at=now)
        .execution_options(synchronize_session=False)
    )


def _failed(session: Session, notice_id: str) -> None:
    session.execute(
        update(RequestNotice)
        .where(RequestNotice.id == notice_id)
        .values(attempts=RequestNotice.attempts + 1)
        .execution_options(synchronize_session=False)
    )


def notice_sender(
    sessions: sessionmaker[Session],
    settings: Settings,
    keyring: Keyring,
    connect: Connect | None = None,
) -> Sender:
    """A sender for outbox webhook rows that carry a notice (the payload opened already)."""
    poster = Poster(connect) if connect is not None else Poster()

    def send(delivery: Delivery) -> None:
        notice_id = str(delivery.payload.get("notice_id", ""))
        body = str(delivery.payload.get("body", "")).encode("utf-8")
        with sessions() as session:
            url, secret_file, done = _where(session, notice_id)
        if done:
            return
        try:
            if url is None or secret_file is None:
                raise RetryableDeliveryError("no endpoint configured")
            try:
                secret = read_secret(secret_file)
            except SecretFileError:
                raise RetryableDeliveryError("secret file unusable") from None
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                SIGNATURE_HEADER: signature_header(secret, body),
                IDEMPOTENCY_HEADER: notice_id,
            }
            status = poster.post(url, body, headers)
        except Exception:
            with transaction(sessions) as session:
                _failed(session, notice_id)
            raise
        outcome = classify(status)
        if outcome is DisclosureStatus.DELIVERED:
            with transaction(sessions) as session:
                _delivered(session, notice_id, utcnow())
            return
        with transaction(sessions) as session:
            _failed(session, notice_id)
        if outcome is DisclosureStatus.DEAD:
            raise PermanentDeliveryError(f"HTTP {status}")
        raise RetryableDeliveryError(f"HTTP {status}")

    # Kept-alive connections last as long as the sender (one outbox pass), then close.
    weakref.finalize(send, poster.close)
    return send
