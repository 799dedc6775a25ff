"""Signed links of the request flow: the identity check and the export download.

A token holds the request id only, never an address; it is signed with the instance's
secret and timed, so it can be neither forged nor used after it lapses. A verification link
works once (the request's status changes by a conditional update); a privacy-centre download
link also names the hash of the session that made it, so it dies with that session.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from schutz.errors import InvalidInput

VERIFY = "schutz.requests.verify"
EXPORT = "schutz.requests.export"
FORM = "schutz.requests.form"

ACCOUNT_EXPORT = "schutz.account.export"

VERIFY_MAX_AGE = 7 * 24 * 3600
"""Seconds a verification link works (once); an unverified request expires at the same time."""
EXPORT_MAX_AGE = 3600
"""Seconds a mailed export link works: one hour, because it opens a copy of all the
subject's data; it is sent right after the subject confirmed, so they are at their mail."""
ACCOUNT_EXPORT_MAX_AGE = 15 * 60
"""Seconds a privacy-centre download link works; it also needs the session that made it."""
FORM_MAX_AGE = 2 * 3600


class TokenExpired(InvalidInput):
    """The link was genuine but is too old."""


class TokenInvalid(InvalidInput):
    """The link was altered, forged or made for something else."""


@dataclass(frozen=True)
class Links:
    """What mailed links are built from: the public base URL and the signing secret."""

    base_url: str
    secret: bytes | Sequence[bytes]  # the last one signs; all of them verify

    def url(self, path: str, token: str) -> str:
        return link_url(self.base_url, path, token)

    def sign(self, salt: str, payload: dict[str, Any]) -> str:
        return URLSafeTimedSerializer(self.secret, salt=salt).dumps(payload)

    def load(self, salt: str, token: str, *, max_age: int) -> dict[str, Any]:
        try:
            payload = URLSafeTimedSerializer(self.secret, salt=salt).loads(token, max_age=max_age)
        except SignatureExpired:
            raise TokenExpired("this link has expired") from None
        except BadSignature:
            raise TokenInvalid("this link is not valid") from None
        if not isinstance(payload, dict):
            raise TokenInvalid("this link is not valid")
        return payload

    def request_of(self, salt: str, token: str, *, max_age: int) -> str:
        """The request id a genuine, fresh token of `salt` names."""
        request_id = self.load(salt, token, max_age=max_age).get("r")
        if not isinstance(request_id, str):
            raise TokenInvalid("this link is not valid")
        return request_id

    def verify_token(self, request_id: str) -> str:
        return self.sign(VERIFY, {"r": request_id})

    def export_token(self, request_id: str) -> str:
        return self.sign(EXPORT, {"r": request_id})

    def session_export_token(self, request_id: str, session_hash: str) -> str:
        """A privacy-centre download link, good only with the session `session_hash` names."""
        return self.sign(ACCOUNT_EXPORT, {"r": request_id, "s": session_hash})

    def session_export_of(self, token: str, session_hash: str) -> str:
        """The request id of a fresh download link made by the session `session_hash`."""
        payload = self.load(ACCOUNT_EXPORT, token, max_age=ACCOUNT_EXPORT_MAX_AGE)
        request_id = payload.get("r")
        if not isinstance(request_id, str) or payload.get("s") != session_hash:
            raise TokenInvalid("this link is not valid")
        return request_id

    def form_token(self, form: str) -> str:
        return self.sign(FORM, {"f": form})

    def check_form_token(self, form: str, token: str) -> None:
        if self.load(FORM, token, max_age=FORM_MAX_AGE).get("f") != form:
            raise TokenInvalid("this form is not valid")


def link_url(base_url: str, path: str, token: str) -> str:
    """The absolute link to `path` carrying `token`, as it goes into a mail."""
    return f"{base_url.rstrip('/')}{path}?token={quote(token)}"


def random_token() -> str:
    """A random, unguessable token (256 bits) for sign-in links and session cookies."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
