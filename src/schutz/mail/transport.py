"""How an e-mail leaves: built as RFC 5322 bytes, then sent over SMTP or written as a .eml file."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import smtplib
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from schutz.config import Settings
from schutz.errors import InvalidInput

SMTP_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Delivery:
    """One claimed outbox row as a sender sees it: no session, no ORM object."""

    id: str
    idempotency_key: str
    payload: Mapping[str, Any]
    attempt: int
    now: datetime


Sender = Callable[[Delivery], None]
"""Delivers one row or raises; raising `PermanentDeliveryError` means "never try again"."""


class PermanentDeliveryError(Exception):
    """The receiving side refused for good (an SMTP 5yz reply, RFC 5321 §4.2.1)."""


def sender_domain(settings: Settings) -> str:
    """The domain Schutz sends as: the host of `base_url`, or `localhost` for an IP literal."""
    host = urlsplit(settings.base_url).hostname or "localhost"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host
    return "localhost"


def message_id(idempotency_key: str, domain: str) -> str:
    """A Message-ID (RFC 5322 §3.6.4) that is the same on every attempt for one outbox row.

    Should a worker die after the server accepted a message but before the row was marked
    sent, the retry carries the same Message-ID, which lets receiving systems drop it.
    """
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def build_message(delivery: Delivery, settings: Settings) -> EmailMessage:
    """The message for an e-mail payload `{to, subject, body, headers}` as RFC 5322 wants it."""
    payload = delivery.payload
    domain = sender_domain(settings)
    msg = EmailMessage(policy=email_policy.SMTP)
    headers: Mapping[str, str] = payload.get("headers") or {}
    msg["From"] = headers.get("From", f"Schutz <schutz@{domain}>")
    msg["To"] = payload["to"]
    msg["Subject"] = payload["subject"]
    msg["Date"] = format_datetime(delivery.now)
    msg["Message-ID"] = message_id(delivery.idempotency_key, domain)
    for name, value in headers.items():
        if name.lower() != "from":
            msg[name] = value
    msg.set_content(payload["body"])
    return msg


def write_eml(directory: Path, delivery: Delivery, message: EmailMessage) -> Path:
    """Write `<directory>/<id>.eml` once; a second call for the same row changes nothing.

    The file appears whole or not at all (written aside, then renamed), and only its owner
    can read it (0600 in a 0700 folder): it holds an e-mail address. It is named after its
    outbox row, so purging or erasing the row tells which file must go
    (`mail.retention.remove_orphaned_files`).
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = directory / f"{delivery.id}.eml"
    if target.exists():
        return target
    scratch = directory / f".{delivery.id}.eml.part"
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(message.as_bytes())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(scratch, target)
    return target


@dataclass(frozen=True)
class SmtpTarget:
    """Where SMTP goes, parsed from `SCHUTZ_SMTP_URL`."""

    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpTarget:
    """Read `smtp://[user:pass@]host[:port][?starttls=true]` or `smtps://...` (RFC 8314)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise InvalidInput("SCHUTZ_SMTP_URL must look like smtp://host:port or smtps://host:port")
    implicit_tls = parts.scheme == "smtps"
    try:
        port = parts.port or (465 if implicit_tls else 25)
    except ValueError as exc:
        raise InvalidInput("SCHUTZ_SMTP_URL has a port that is not a number") from exc
    flags = parse_qs(parts.query)
    starttls = flags.get("starttls", ["false"])[-1].lower() in ("1", "true", "yes")
    return SmtpTarget(
        host=parts.hostname,
        port=port,
        implicit_tls=implicit_tls,
        starttls=starttls and not implicit_tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def send_smtp(target: SmtpTarget, message: EmailMessage) -> None:
    """Hand `message` to the SMTP server; a 5yz reply raises `PermanentDeliveryError` (RFC 5321)."""
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if target.implicit_tls:
        client = smtplib.SMTP_SSL(
            target.host, target.port, timeout=SMTP_TIMEOUT_SECONDS, context=context
        )
    else:
        client = smtplib.SMTP(target.host, target.port, timeout=SMTP_TIMEOUT_SECONDS)
    with client:
        if target.starttls:
            client.starttls(context=context)
        if target.username is not None:
            client.login(target.username, target.password or "")
        try:
            client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _ in exc.recipients.values()})
            if all(500 <= code < 600 for code in codes):
                raise PermanentDeliveryError(f"SMTPRecipientsRefused {codes}") from None
            raise
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise PermanentDeliveryError(f"{type(exc).__name__} {exc.smtp_code}") from None
            raise


def email_sender(settings: Settings) -> Sender:
    """The e-mail sender for these settings: SMTP when `smtp_url` is set, else .eml files."""
    if settings.smtp_url:
        target = parse_smtp_url(settings.smtp_url)

        def send(delivery: Delivery) -> None:
            send_smtp(target, build_message(delivery, settings))

        return send

    directory = settings.outbox_dir

    def write(delivery: Delivery) -> None:
        write_eml(directory, delivery, build_message(delivery, settings))

    return write


def describe_failure(exc: BaseException) -> str:
    """Why a delivery failed, in words that hold no personal data.

    Server replies often echo the recipient address, so only the error class and the
    numeric reply or errno code are kept.
    """
    if isinstance(exc, PermanentDeliveryError):
        return str(exc)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        return f"SMTPRecipientsRefused {codes}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__} {exc.smtp_code}"
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"{type(exc).__name__} errno {exc.errno}"
    return type(exc).__name__
