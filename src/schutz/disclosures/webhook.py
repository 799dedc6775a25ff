"""The outbox's webhook sender: POST each disclosure, signed, with its Idempotency-Key.

Each attempt sends the exact body recorded for the disclosure (opened with the subject's
key: after an erasure there is nothing left to send) with two headers:
`Schutz-Signature: t=<unix>,v1=<HMAC-SHA256 over "<t>.<body>">` (see `verify.py`) and
`Idempotency-Key: <disclosure id>`, the same on every attempt and every retry, so that a
delivery repeated after a crash is recognised by the receiver and never becomes a second
shipment. A 2xx answer is delivered; 4xx other than 408 and 429 is a permanent refusal;
anything else (5xx, 408, 429, a timeout, a refused connection) is tried again with back-off.
"""

from __future__ import annotations

import http.client
import logging
import ssl
import weakref
from collections.abc import Callable
from urllib.parse import urlsplit

from sqlalchemy.orm import Session, sessionmaker

from schutz.clock import utcnow
from schutz.config import Settings
from schutz.db import transaction
from schutz.disclosures.endpoints import SecretFileError, read_secret
from schutz.disclosures.models import DisclosureStatus
from schutz.disclosures.service import PendingDelivery, pending_delivery, record_outcome
from schutz.disclosures.verify import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signature_header
from schutz.errors import IntegrityCheckError, NotFound
from schutz.mail.service import MAX_ATTEMPTS
from schutz.mail.transport import Delivery, PermanentDeliveryError, Sender, describe_failure
from schutz.vault.keys import Keyring, load_keyring

log = logging.getLogger("schutz.disclosures")

TIMEOUT_SECONDS = 10.0
USER_AGENT = "Schutz-Webhook/1"
RETRYABLE_4XX = frozenset({408, 429})


class RetryableDeliveryError(Exception):
    """The receiver or the network failed this time; the outbox tries again later."""


def classify(status: int) -> DisclosureStatus | None:
    """Delivered for 2xx, dead for a permanent 4xx, None (try again) for the rest."""
    if 200 <= status < 300:
        return DisclosureStatus.DELIVERED
    if 400 <= status < 500 and status not in RETRYABLE_4XX:
        return DisclosureStatus.DEAD
    return None


Connect = Callable[[str, str, int | None], http.client.HTTPConnection]


def _connect(scheme: str, host: str, port: int | None) -> http.client.HTTPConnection:
    if scheme == "https":
        return http.client.HTTPSConnection(
            host, port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()
        )
    return http.client.HTTPConnection(host, port, timeout=TIMEOUT_SECONDS)


class _Poster:
    """POSTs over kept-alive connections, one per host; a failed connection is dropped."""

    def __init__(self, connect: Connect = _connect) -> None:
        self._connect = connect
        self._open: dict[tuple[str, str, int | None], http.client.HTTPConnection] = {}

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        parts = urlsplit(url)
        where = (parts.scheme, parts.hostname or "", parts.port)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        for attempt in (1, 2):
            conn = self._open.get(where)
            fresh = conn is None
            if conn is None:
                conn = self._open[where] = self._connect(*where)
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                conn.close()
                del self._open[where]
                if fresh or attempt == 2:
                    raise
                continue  # a kept-alive connection the server had closed: open a new one
            except Exception:
                conn.close()
                del self._open[where]
                raise
            if response.will_close:
                conn.close()
                del self._open[where]
            return response.status
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        while self._open:
            _, conn = self._open.popitem()
            conn.close()


Poster = _Poster
"""Kept-alive POSTs, for the other webhook senders (request events, Art. 19 notices)."""


def _read_pending(
    sessions: sessionmaker[Session], keyring: Keyring, disclosure_id: str
) -> PendingDelivery:
    try:
        with sessions() as session:
            return pending_delivery(session, keyring, disclosure_id)
    except (NotFound, IntegrityCheckError) as exc:
        # Erased (the key is shredded) or tampered with: nothing may be sent, ever.
        raise PermanentDeliveryError(type(exc).__name__) from None


def _headers(secret: bytes, pending: PendingDelivery) -> dict[str, str]:
    """The signature over the exact body, and the disclosure's id as the Idempotency-Key."""
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature_header(secret, pending.body),
        IDEMPOTENCY_HEADER: pending.disclosure_id,
    }


def webhook_sender_for(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    keyring: Keyring | None = None,
    connect: Connect = _connect,
) -> Sender:
    """A sender for `deliver_due(kind=webhook)` that reads disclosures through `sessions`
    and opens them with `keyring` (by default the one `settings` names)."""
    keyring = keyring or load_keyring(settings)
    poster = _Poster(connect)
    secrets_read: dict[str, bytes] = {}

    def settle(disclosure_id: str, status: DisclosureStatus, error: str | None) -> None:
        with transaction(sessions) as session:
            record_outcome(session, disclosure_id, status=status, error=error, now=utcnow())

    def send(delivery: Delivery) -> None:
        disclosure_id = str(delivery.payload.get("disclosure_id", ""))
        pending = _read_pending(sessions, keyring, disclosure_id)
        if pending.delivered:
            return  # an earlier attempt got through; the outbox row just had not heard
        # On the outbox's last attempt a failure is final: the row goes dead with it.
        failing = (
            DisclosureStatus.DEAD if delivery.attempt >= MAX_ATTEMPTS else DisclosureStatus.RETRYING
        )
        if pending.url is None or pending.secret_file is None:
            error = f"no endpoint configured for {pending.recipient}"
            settle(disclosure_id, failing, error)
            raise RetryableDeliveryError(error)
        try:
            secret = secrets_read.get(pending.secret_file) or read_secret(pending.secret_file)
            secrets_read[pending.secret_file] = secret  # for the rest of this pass
        except SecretFileError:
            error = f"secret file of {pending.recipient} is unusable"
            settle(disclosure_id, failing, error)
            raise RetryableDeliveryError(error) from None
        try:
            status = poster.post(pending.url, pending.body, _headers(secret, pending))
        except Exception as exc:
            error = describe_failure(exc)
            settle(disclosure_id, failing, error)
            raise
        outcome = classify(status)
        if outcome is DisclosureStatus.DELIVERED:
            settle(disclosure_id, outcome, None)
            return
        error = f"HTTP {status}"
        if outcome is DisclosureStatus.DEAD:
            settle(disclosure_id, DisclosureStatus.DEAD, error)
            raise PermanentDeliveryError(error)
        settle(disclosure_id, failing, error)
        raise RetryableDeliveryError(error)

    # Kept-alive connections last as long as the sender (one outbox pass), then close.
    weakref.finalize(send, poster.close)
    return send


def webhook_sender(sessions: sessionmaker[Session], settings: Settings, keyring: Keyring) -> Sender:
    """The factory `schutz.worker.SENDERS` calls once per pass, with the worker's sessions."""
    return webhook_sender_for(sessions, settings, keyring=keyring)
