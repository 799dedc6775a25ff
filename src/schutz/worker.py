"""The outbox worker: delivers due e-mails and webhooks, in `schutz worker` or inside `serve`.

Like `create_app`, the worker is a composition root: its caller builds the engine and the
session factory, and each pass loads the keyring (a rotation adds keys while it runs) and
hands it, with the sessions, to what needs them. No module keeps an engine of its own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from schutz.analytics.partitions import prepare_months
from schutz.clock import utcnow
from schutz.config import Settings
from schutz.db import stop_waking, transaction, wake_on_work
from schutz.disclosures.webhook import webhook_sender
from schutz.identity.signing_secrets import load_or_create
from schutz.mail.retention import remove_orphaned_files
from schutz.mail.service import DeliveryReport, deliver_due
from schutz.mail.transport import Delivery, Sender, email_sender
from schutz.mail.vocabulary import OutboxKind
from schutz.subject_requests.deferred import handle_pending
from schutz.systems.sender import notice_sender
from schutz.vault.keys import Keyring, load_keyring
from schutz.wakeup import listen

log = logging.getLogger("schutz.worker")

PARTITION_CHECK = 3600.0
"""Seconds between checks that next months' page-view partitions exist."""

SenderFactory = Callable[[sessionmaker[Session], Settings, Keyring], Sender]


def _webhook(sessions: sessionmaker[Session], settings: Settings, keyring: Keyring) -> Sender:
    """Disclosures and, when the row carries a notice, request events and Art. 19 notices."""
    disclosures = webhook_sender(sessions, settings, keyring)
    notices = notice_sender(sessions, settings, keyring)

    def send(delivery: Delivery) -> None:
        (notices if "notice_id" in delivery.payload else disclosures)(delivery)

    return send


def _email(sessions: sessionmaker[Session], settings: Settings, keyring: Keyring) -> Sender:
    return email_sender(settings)


# One sender per outbox kind; a domain that queues another kind adds its factory here.
SENDERS: dict[OutboxKind, SenderFactory] = {
    OutboxKind.EMAIL: _email,
    OutboxKind.WEBHOOK: _webhook,
}


def run_once(
    sessions: sessionmaker[Session], settings: Settings, *, limit: int = 100
) -> dict[OutboxKind, DeliveryReport]:
    """One pass: handle the public forms' sealed look-ups (which may queue mail), then
    deliver what is due now in every kind; commit each outcome.

    Then the .eml files of rows an erasure deleted are removed, so an erased subject's
    written mail is gone within a pass (Art. 17 GDPR).
    """
    now = utcnow()
    keyring = load_keyring(settings)
    # Signs the links the look-ups mail: the current secret last, as itsdangerous expects.
    secret = load_or_create(settings.data_dir).accepted(now)
    handle_pending(sessions, settings, secret=secret, now=now, limit=limit, keyring=keyring)
    reports = {}
    for kind, factory in SENDERS.items():
        send = factory(sessions, settings, keyring)
        reports[kind] = deliver_due(
            sessions, settings, now=utcnow(), keys=keyring, limit=limit, kind=kind, send=send
        )
    if settings.smtp_url is None:
        with transaction(sessions) as session:
            remove_orphaned_files(session, settings.outbox_dir)
    return reports


def run_forever(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    stop: threading.Event,
    interval: float = 1.0,
) -> None:
    """Deliver until `stop` is set. A pass that found work is followed at once by another;
    otherwise the worker sleeps until a commit in this process queues work (`db.note_work`)
    or `interval` passes (work queued by other processes)."""
    wake = threading.Event()
    wake_on_work(wake)
    listener = listen(sessions.kw.get("bind"), wake)  # PostgreSQL: work queued elsewhere
    months_checked = -PARTITION_CHECK
    try:
        while not stop.is_set():
            wake.clear()
            if time.monotonic() - months_checked >= PARTITION_CHECK:
                months_checked = time.monotonic()
                _prepare_months(sessions)
            try:
                reports = run_once(sessions, settings)
            except Exception as exc:
                log.error("worker pass failed: %s", type(exc).__name__)
                stop.wait(interval * 5)
                continue
            busy = any(r.sent or r.retrying or r.dead for r in reports.values())
            if not busy:
                wake.wait(interval)
    finally:
        stop_waking(wake)
        if listener is not None:
            listener.close()


def _prepare_months(sessions: sessionmaker[Session]) -> None:
    """Page-view partitions for the months ahead (PostgreSQL; a no-op elsewhere)."""
    try:
        prepare_months(sessions, utcnow().date())
    except Exception as exc:
        log.error("preparing page-view partitions failed: %s", type(exc).__name__)


def start_in_thread(sessions: sessionmaker[Session], settings: Settings) -> threading.Event:
    """The embedded default's worker: a daemon thread inside `serve`; set the event to stop."""
    stop = threading.Event()
    threading.Thread(
        target=run_forever,
        args=(sessions, settings),
        kwargs={"stop": stop},
        daemon=True,
        name="schutz-worker",
    ).start()
    return stop
