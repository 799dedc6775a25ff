"""Webhook signatures: how Schutz signs a delivery and how a receiver checks it.

This module needs nothing but the Python standard library, so a processor can copy it as it
is. The header is `Schutz-Signature: t=<unix seconds>,v1=<hex>`, where `<hex>` is
HMAC-SHA256 (RFC 2104) under the shared secret over the bytes `<t>.<body>`. Signing the time
with the body lets a receiver refuse replays of old deliveries; several `v1=` values may
appear while a secret is being changed, and any one of them that matches is enough.

A receiver does::

    from schutz.disclosures.verify import SignatureError, verify_signature

    try:
        verify_signature(secret, raw_body, request.headers.get("Schutz-Signature"))
    except MalformedSignature:
        return 400
    except SignatureError:
        return 401
    key = delivery_id(raw_body)  # de-duplicate on this: a retry carries the same id

De-duplicate on the `id` inside the signed body, never on the `Idempotency-Key` header: the
header is not signed, so anyone who replays a genuine delivery within the tolerance window
could give it a fresh key and have it counted twice. The header carries the same value, for
receivers that log it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time

SIGNATURE_HEADER = "Schutz-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SCHEME = "v1"
DEFAULT_TOLERANCE = 300
"""Seconds a signature's time may differ from the receiver's clock (either way)."""


MAX_HEADER = 2048
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
"""ASCII digits only (str.isdigit also takes "²"), and no number big enough to hurt."""
_HEX_SIGNATURE = re.compile(r"[0-9a-f]{64}")


class SignatureError(ValueError):
    """The header is missing or malformed, too old or too new, or no signature matches."""


class MalformedSignature(SignatureError):
    """The header is not of the form `t=<digits>,v1=<hex>[,v1=<hex>...]`: answer 400."""


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
    """(timestamp, [v1 signatures]) from a header value; `MalformedSignature` if malformed.

    Values of `v1` that cannot be a hex HMAC-SHA256 are dropped here (they match nothing),
    so the constant-time comparison never sees a non-ASCII string.
    """
    if len(header) > MAX_HEADER:
        raise MalformedSignature("the signature header is too long")
    timestamp: int | None = None
    signatures: list[str] = []
    seen_scheme = False
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise MalformedSignature("malformed signature header")
        if key == "t":
            if not _TIMESTAMP.fullmatch(value):
                raise MalformedSignature("the signature's timestamp is not a number")
            timestamp = int(value)
        elif key == SCHEME:
            seen_scheme = True
            if _HEX_SIGNATURE.fullmatch(value):
                signatures.append(value)
    if timestamp is None or not seen_scheme:
        raise MalformedSignature(f"the signature header needs t= and {SCHEME}=")
    return timestamp, signatures


def delivery_id(body: bytes) -> str:
    """The delivery's id from the signed body (`{"id": ..., ...}`): what to de-duplicate on.

    Raises `MalformedSignature` when the body is not a JSON object with a string `id`.
    Call it only after `verify_signature` passed, so the id is the one Schutz signed.
    """
    try:
        parsed = json.loads(body)
    except ValueError:
        raise MalformedSignature("the body is not JSON") from None
    found = parsed.get("id") if isinstance(parsed, dict) else None
    if not isinstance(found, str) or not 0 < len(found) <= 200:
        raise MalformedSignature("the signed body has no id")
    return found


def verify_signature(
    secret: bytes | str,
    body: bytes,
    header: str | None,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> int:
    """Check `header` against the raw `body`; return the signed timestamp.

    Raises `MalformedSignature` (answer 400) when the header is malformed, and
    `SignatureError` (answer 401) when it is absent, when its time is more than `tolerance`
    seconds from `now` (a replay, or a clock far off), or when no `v1` signature matches.
    Comparison is constant-time.
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
