"""Who is calling: API keys on /api/v1, staff sessions and CSRF tokens on /staff pages.

Routes declare `Depends(require_role(...))` or `Depends(require_staff(...))` and get an
`Actor` (or a `StaffContext`) whose `label` goes into the audit log.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from schutz.clock import utcnow
from schutz.config import Settings
from schutz.errors import Denied, Unauthenticated
from schutz.identity.actor import Actor
from schutz.identity.service import (
    api_key_actor,
    authenticate_api_key,
    session_for_token,
    staff_actor,
)
from schutz.identity.signing_secrets import SecretsFile
from schutz.web.deps import SessionDep, signing_secret

__all__ = ["Actor", "StaffContext", "StaffDep", "require_role", "require_staff"]

SESSION_COOKIE = "schutz_session"
LOGIN_CSRF_COOKIE = "schutz_login_csrf"
STAFF_PATH = "/staff"
LOGIN_PATH = "/staff/login"
LOGIN_FORM_MAX_AGE = 3600  # seconds a login form stays valid
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from `schutz apikey create`: `Authorization: Bearer schutz_…`.",
)


# --- API keys ---------------------------------------------------------------------------


def require_role(*roles: str) -> Callable[..., Actor]:
    """A dependency: the caller's API key must be valid (401) and carry one of `roles` (403).

    With no roles, any valid key will do. 401 answers carry `WWW-Authenticate: Bearer`
    (RFC 6750, section 3).
    """

    def api_actor(
        session: SessionDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Actor:
        if credentials is None:
            raise HTTPException(
                401,
                "an API key is required: Authorization: Bearer <key>",
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            key = authenticate_api_key(session, credentials.credentials)
        except Unauthenticated as exc:
            raise HTTPException(
                401, str(exc), headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
            ) from None
        actor = api_key_actor(key)
        if not actor.has_role(*roles):
            raise Denied(f"an API key with role {actor.role!r} may not do this", reason="role")
        return actor

    return api_actor


# --- staff sessions ---------------------------------------------------------------------


@dataclass(frozen=True)
class StaffContext:
    """A signed-in staff member on this request, and the CSRF token their forms must carry."""

    actor: Actor
    email: str
    session_id: str
    csrf_token: str


def set_session_cookie(
    response: Response,
    token: str,
    settings: Settings,
    *,
    name: str = SESSION_COOKIE,
    path: str = STAFF_PATH,
) -> None:
    """A browser-session cookie (no Max-Age) holding an opaque token; the server keeps the
    session and ends it itself. Staff and the privacy centre each use one, on their path."""
    response.set_cookie(
        name, token, path=path, httponly=True, samesite="lax", secure=settings.secure_cookies
    )


def clear_session_cookie(
    response: Response, settings: Settings, *, name: str = SESSION_COOKIE, path: str = STAFF_PATH
) -> None:
    response.delete_cookie(
        name, path=path, httponly=True, samesite="lax", secure=settings.secure_cookies
    )


def _login_redirect(request: Request) -> HTTPException:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return HTTPException(303, "sign in first", headers={"Location": login_url(target)})


def login_url(next_path: str | None = None) -> str:
    if next_path and safe_next(next_path) != f"{STAFF_PATH}/":
        return f"{LOGIN_PATH}?next={quote(next_path, safe='/')}"
    return LOGIN_PATH


def safe_next(next_path: str | None) -> str:
    """Where to go after sign-in: only a page of the console, never another site."""
    if (
        next_path
        and next_path.startswith(f"{STAFF_PATH}/")
        and not next_path.startswith("//")
        and "\\" not in next_path
        and not next_path.startswith(LOGIN_PATH)
    ):
        return next_path
    return f"{STAFF_PATH}/"


async def _submitted_csrf(request: Request) -> str:
    if request.method in SAFE_METHODS:
        return ""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


def require_staff(*roles: str) -> Callable[..., StaffContext]:
    """A dependency for console pages: a live session (else a redirect to the sign-in page),
    one of `roles` if given (else 403), and on POST/PUT/PATCH/DELETE the session's CSRF token
    in the `csrf_token` form field or the `X-CSRF-Token` header (else 403)."""

    def staff_context(
        request: Request,
        session: SessionDep,
        submitted: Annotated[str, Depends(_submitted_csrf)],
    ) -> StaffContext:
        # A plain `def`: the session look-up is database work, which never runs on the loop.
        token = request.cookies.get(SESSION_COOKIE, "")
        row = session_for_token(session, token, now=utcnow())
        if row is None:
            raise _login_redirect(request)
        if request.method not in SAFE_METHODS and not hmac.compare_digest(
            submitted.encode(), row.csrf_token.encode()
        ):
            raise Denied(
                "the form has expired or did not come from this site; "
                "reload the page and try again",
                reason="csrf",
            )
        actor = staff_actor(row.staff)
        if not actor.has_role(*roles):
            raise Denied("your role may not open this page", reason="role")
        return StaffContext(
            actor=actor, email=row.staff.email, session_id=row.id, csrf_token=row.csrf_token
        )

    return staff_context


StaffDep = Annotated[StaffContext, Depends(require_staff())]


# --- the sign-in form's own CSRF token ----------------------------------------------------


def load_or_create_secret(data_dir: Path) -> SecretsFile:
    """The instance's signing secrets, `<data_dir>/secret.key` (created, mode 0600, if
    missing), re-read whenever `schutz secret rotate` changes the file."""
    return SecretsFile(data_dir)


def _login_serializer(request: Request) -> URLSafeTimedSerializer:
    # Built per use: the accepted secrets change when one is rotated or its grace ends.
    return URLSafeTimedSerializer(signing_secret(request), salt="schutz.staff.login")


def issue_login_csrf(request: Request) -> tuple[str, str]:
    """(nonce for the cookie, signed token for the form): a double-submit pair.

    There is no session before sign-in, so the form's token is the cookie's random nonce,
    signed and timed: a page elsewhere can neither read the cookie nor forge the pair, and
    so cannot sign a victim in to an account of its choosing (login CSRF).
    """
    nonce = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    return nonce, _login_serializer(request).dumps(nonce)


def check_login_csrf(request: Request, token: str) -> bool:
    nonce = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not nonce or not token:
        return False
    try:
        signed = _login_serializer(request).loads(token, max_age=LOGIN_FORM_MAX_AGE)
    except BadSignature:
        return False
    return isinstance(signed, str) and hmac.compare_digest(signed.encode(), nonce.encode())


def set_login_csrf_cookie(response: Response, nonce: str, settings: Settings) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        nonce,
        path=LOGIN_PATH,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
    )


def clear_login_csrf_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        LOGIN_CSRF_COOKIE,
        path=LOGIN_PATH,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
    )
