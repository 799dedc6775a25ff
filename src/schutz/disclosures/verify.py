"""Webhook signatures: how Schutz signs a delivery and how a receiver checks it.

This module needs nothing but the Python standard library, so a processor can copy it as it
is. The header is `Schutz-Signature: t=<unix seconds>,v1=<hex>`, where `<hex>` is
HMAC-SHA256 (RFC 2104) under the shared secret over the bytes `<t>.<body>`. Signing the time
with the body lets a receiver refuse replays of old deliveries; several `v1=` values may
appear while a secret is being changed, and any one of them that matches is enough.

A receiver does::

    from schutz.disclosures.verify import SignatureError, verify_signature

    try:
        verify_signature(secret, raw_body, request.headers["Schutz-Signature"])
    except SignatureError:
        return 401
    # then de-duplicate on the Idempotency-Key header: a retry carries the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Schutz-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SCHEME = "v1"
DEFAULT_TOLERANCE = 300
"""Seconds a signature's time may differ from the receiver's clock (either way)."""


class SignatureError(ValueError):
    """The header is missing or malformed, too old or too new, or no signature matches."""


def _as_bytes(secret: bytes | str) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def compute_signature(secret: bytes | str, body: bytes, timestamp: int) -> str:
    """The hex HMAC-SHA256 of `<timestamp>.<body>` under `secret`."""
    message = str(int(timestamp)).encode("ascii") + b"." + body
    return hmac.new(_as_bytes(secret), message, hashlib.sha256).hexdigest()


def signature_header(secret: bytes | str, body: bytes, timestamp: int | None = None) -> str:
    """The `Schutz-Signature` value for `body`, signed now or at `timestamp`."""
    moment = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={moment},{SCHEME}={compute_signature(secret, body, moment)}"


def parse_header(header: str) -> tuple[int, list[str]]:
    """(timestamp, [v1 signatures]) from a header value; `SignatureError` if malformed."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureError("malformed signature header")
        if key == "t":
            if not value.isdigit():
                raise SignatureError("the signature's timestamp is not a number")
            timestamp = int(value)
        elif key == SCHEME:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureError(f"the signature header needs t= and {SCHEME}=")
    return timestamp, signatures


def verify_signature(
    secret: bytes | str,
    body: bytes,
    header: str | None,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> int:
    """Check `header` against the raw `body`; return the signed timestamp.

    Raises `SignatureError` when the header is absent or malformed, when its time is more
    than `tolerance` seconds from `now` (a replay, or a clock far off), or when no `v1`
    signature matches. Comparison is constant-time.
    """
    if not header:
        raise SignatureError("no signature header")
    timestamp, signatures = parse_header(header)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError("the signature's timestamp is outside the tolerance window")
    expected = compute_signature(secret, body, timestamp)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise SignatureError("no signature matches the body")
    return timestamp
