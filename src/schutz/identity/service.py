"""Adding staff, signing them in and out, and issuing and checking API keys.

Every change writes its audit entry in the caller's transaction; nothing here commits.
E-mail addresses and secrets never reach an audit entry or an error message.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schutz.audit.service import record
from schutz.errors import Conflict, InvalidInput, Unauthenticated
from schutz.identity.actor import Actor
from schutz.identity.models import ApiKey, StaffSession, StaffUser
from schutz.identity.passwords import (
    MIN_LENGTH,
    check_password,
    hash_password,
    needs_rehash,
    spend_check_time,
)
from schutz.identity.roles import API_KEY_ROLES, STAFF_ROLES

SESSION_LIFETIME = timedelta(hours=8)
LOCKOUT_THRESHOLD = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
API_KEY_SCHEME = "schutz"
BAD_LOGIN = "wrong e-mail address or password"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_KEY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")


class LockedOut(Unauthenticated):
    """Too many failed sign-ins in a short time; the account waits before the next try."""


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _new_id() -> str:
    return uuid.uuid4().hex


def staff_actor(user: StaffUser) -> Actor:
    return Actor(kind="staff", id=user.id, role=user.role, label=f"staff:{user.id}")


def api_key_actor(key: ApiKey) -> Actor:
    return Actor(kind="apikey", id=key.id, role=key.role, label=f"apikey:{key.name}")


def _staff_by_email(session: Session, email: str) -> StaffUser | None:
    return session.scalars(
        select(StaffUser).where(func.lower(StaffUser.email) == email.strip().lower())
    ).one_or_none()


def add_staff(
    session: Session, *, email: str, role: str, password: str, actor: str, now: datetime
) -> StaffUser:
    """Create a staff user who signs in with `email` and `password` and acts as `role`."""
    email = email.strip()
    if not _EMAIL.match(email) or len(email) > 254:
        raise InvalidInput("that is not an e-mail address")
    if role not in STAFF_ROLES:
        raise InvalidInput(f"unknown staff role {role!r}; one of {', '.join(STAFF_ROLES)}")
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"the password must be at least {MIN_LENGTH} characters long")
    if _staff_by_email(session, email) is not None:
        raise Conflict("a staff user with this e-mail address exists already")
    user = StaffUser(
        id=_new_id(),
        email=email,
        role=role,
        password_hash=hash_password(password),
        created_at=now,
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    record(
        session,
        actor=actor,
        action="staff.add",
        details={"staff_id": user.id, "role": role},
        now=now,
    )
    return user


def _note_failure(session: Session, user: StaffUser, *, now: datetime) -> None:
    if user.failed_since is None or now - user.failed_since >= LOCKOUT_WINDOW:
        user.failed_since, user.failed_logins = now, 0
    user.failed_logins += 1
    details: dict[str, object] = {"staff_id": user.id, "failures": user.failed_logins}
    if user.failed_logins >= LOCKOUT_THRESHOLD:
        user.locked_until = now + LOCKOUT_WINDOW
        user.failed_since, user.failed_logins = None, 0
        details["locked_until"] = user.locked_until.isoformat()
    record(session, actor="anonymous", action="staff.login_failed", details=details, now=now)


def authenticate_staff(session: Session, email: str, password: str, now: datetime) -> StaffUser:
    """Return the staff user whose password this is, or raise Unauthenticated.

    An unknown address costs the same argon2 check as a wrong password, so timing does
    not tell which addresses have accounts. Five failures within 15 minutes lock the
    account for 15 minutes (LockedOut). A failure flushes its count and audit entry before
    raising: the caller commits them, or the lock-out would never take effect.
    """
    user = _staff_by_email(session, email)
    if user is None or user.disabled_at is not None:
        spend_check_time(password)
        record(
            session,
            actor="anonymous",
            action="staff.login_failed",
            details={"reason": "unknown"},
            now=now,
        )
        raise Unauthenticated(BAD_LOGIN)
    if user.locked_until is not None and now < user.locked_until:
        spend_check_time(password)
        record(
            session,
            actor="anonymous",
            action="staff.login_refused",
            details={"staff_id": user.id, "reason": "locked"},
            now=now,
        )
        raise LockedOut("too many failed sign-ins; try again in 15 minutes")
    if not check_password(user.password_hash, password):
        _note_failure(session, user, now=now)
        session.flush()
        raise Unauthenticated(BAD_LOGIN)
    user.failed_logins, user.failed_since, user.locked_until = 0, None, None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.flush()
    return user


def disable_staff(session: Session, *, email: str, actor: str, now: datetime) -> StaffUser:
    """Stop a staff user from signing in; their open sessions stop working at once.

    The row stays, so the audit log's `staff:<id>` labels keep their meaning. Raises
    InvalidInput (naming no address) when there is no such user or it is disabled already.
    """
    user = _staff_by_email(session, email)
    if user is None or user.disabled_at is not None:
        raise InvalidInput("no active staff user with this e-mail address")
    user.disabled_at = now
    session.flush()
    record(
        session,
        actor=actor,
        action="staff.disable",
        details={"staff_id": user.id, "role": user.role},
        now=now,
    )
    return user


def start_session(
    session: Session, user: StaffUser, *, now: datetime, replaces: str | None = None
) -> tuple[StaffSession, str]:
    """Open a session for `user` and return it with its cookie token (shown only now).

    A sign-in always gets a new token, and the session of `replaces` (the token the browser
    had before, if any) ends: a token planted before sign-in is worthless after it.
    """
    if replaces:
        end_session(session, replaces, now=now)
    token = secrets.token_urlsafe(32)
    row = StaffSession(
        id=_new_id(),
        token_hash=_sha256(token),
        staff_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=staff_actor(user).label,
        action="staff.login",
        details={"staff_id": user.id, "session_id": row.id},
        now=now,
    )
    return row, token


def session_for_token(session: Session, token: str, *, now: datetime) -> StaffSession | None:
    """The live session this cookie token belongs to, or None (unknown, ended, expired)."""
    if not token:
        return None
    row = session.scalars(
        select(StaffSession).where(StaffSession.token_hash == _sha256(token))
    ).one_or_none()
    if row is None or row.ended_at is not None or now >= row.expires_at:
        return None
    if row.staff.disabled_at is not None:
        return None
    return row


def end_session(session: Session, token: str, *, now: datetime) -> bool:
    """Sign out: the token stops working at once. False when it was not a live session."""
    row = session_for_token(session, token, now=now)
    if row is None:
        return False
    row.ended_at = now
    session.flush()
    record(
        session,
        actor=staff_actor(row.staff).label,
        action="staff.logout",
        details={"staff_id": row.staff_id, "session_id": row.id},
        now=now,
    )
    return True


def create_api_key(
    session: Session, *, name: str, role: str, actor: str, now: datetime
) -> tuple[ApiKey, str]:
    """Issue a key for an integration; the plaintext is returned once and never stored.

    Format: `schutz_<prefix>_<secret>`; the prefix finds the row, the secret's SHA-256
    proves it.
    """
    if not _KEY_NAME.match(name):
        raise InvalidInput(
            "a key name is 1-80 letters, digits, dots, dashes or underscores, e.g. shop-1"
        )
    if role not in API_KEY_ROLES:
        raise InvalidInput(f"unknown API key role {role!r}; one of {', '.join(API_KEY_ROLES)}")
    if session.scalars(select(ApiKey.id).where(ApiKey.name == name)).first() is not None:
        raise Conflict(f"an API key named {name!r} exists already")
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    key = ApiKey(
        id=_new_id(),
        name=name,
        role=role,
        prefix=prefix,
        secret_hash=_sha256(secret),
        created_at=now,
        created_by=actor,
    )
    session.add(key)
    session.flush()
    record(
        session,
        actor=actor,
        action="apikey.create",
        details={"api_key_id": key.id, "name": name, "role": role},
        now=now,
    )
    return key, f"{API_KEY_SCHEME}_{prefix}_{secret}"


def revoke_api_key(session: Session, *, name: str, actor: str, now: datetime) -> ApiKey:
    """Stop a key from working; the row stays, so the audit log's labels keep their meaning."""
    key = session.scalars(select(ApiKey).where(ApiKey.name == name)).one_or_none()
    if key is None or key.revoked_at is not None:
        raise InvalidInput(f"no active API key named {name!r}")
    key.revoked_at = now
    session.flush()
    record(
        session,
        actor=actor,
        action="apikey.revoke",
        details={"api_key_id": key.id, "name": name},
        now=now,
    )
    return key


def authenticate_api_key(session: Session, plaintext: str) -> ApiKey:
    """The live key `plaintext` belongs to, or Unauthenticated."""
    scheme, _, rest = plaintext.strip().partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != API_KEY_SCHEME or not prefix or not secret:
        raise Unauthenticated("invalid API key")
    key = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one_or_none()
    if key is None or not hmac.compare_digest(key.secret_hash, _sha256(secret)):
        raise Unauthenticated("invalid API key")
    if key.revoked_at is not None:
        raise Unauthenticated("this API key has been revoked")
    return key
