"""Signed tokens for links in mails and for public forms, from the instance's secret.

The secret is the one the web edge keeps in the data directory; callers pass its bytes in,
so this module needs nothing but itsdangerous. A token is readable (base64 JSON) but cannot
be forged or altered; it holds opaque ids only, never an e-mail address.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from schutz.errors import InvalidInput

SecretKeys = bytes | Sequence[bytes]
"""One secret, or the secrets that verify (oldest first); the last one signs."""

CONFIRM = "schutz.newsletter.confirm"
UNSUBSCRIBE = "schutz.newsletter.unsubscribe"
FORM = "schutz.public-form"

CONFIRM_MAX_AGE = 3 * 24 * 3600
"""Seconds a confirmation link stays valid: long enough for a weekend, short enough to lapse."""
FORM_MAX_AGE = 2 * 3600
"""Seconds a public form stays valid after it was served."""


class TokenExpired(InvalidInput):
    """The token was genuine but is too old."""


class TokenInvalid(InvalidInput):
    """The token was altered, forged, or made for something else."""


def sign(secret: SecretKeys, salt: str, payload: dict[str, Any]) -> str:
    return URLSafeTimedSerializer(secret, salt=salt).dumps(payload)


def load(
    secret: SecretKeys, salt: str, token: str, *, max_age: int | None = None
) -> dict[str, Any]:
    """The payload of a genuine token for `salt`; raises `TokenExpired` or `TokenInvalid`."""
    try:
        payload = URLSafeTimedSerializer(secret, salt=salt).loads(token, max_age=max_age)
    except SignatureExpired:
        raise TokenExpired("this link has expired") from None
    except BadSignature:
        raise TokenInvalid("this link is not valid") from None
    if not isinstance(payload, dict):
        raise TokenInvalid("this link is not valid")
    return payload


def token_id(token: str) -> str:
    """A short, stable name for a token in the ledger: not the token itself, which grants."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:24]


def form_token(secret: SecretKeys, form: str) -> str:
    """A timed token for a public form: works without cookies (C16), proves the form is ours.

    It is no defence against a site that fetches a fresh form first; public forms rely on
    double opt-in and on answering the same whatever is sent, not on this token.
    """
    return sign(secret, FORM, {"f": form})


def check_form_token(secret: SecretKeys, form: str, token: str) -> None:
    """Raise `TokenExpired` or `TokenInvalid` unless `token` is a fresh one for `form`."""
    payload = load(secret, FORM, token, max_age=FORM_MAX_AGE)
    if payload.get("f") != form:
        raise TokenInvalid("this form is not valid")
