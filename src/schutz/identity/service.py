"""Adding staff, signing them in and out, and issuing and checking API keys.

Sign-in is throttled per (address, client network) with growing delays (see `throttle`);
nothing a stranger does can lock an account.

Every change writes its audit entry in the caller's transaction; nothing here commits.
E-mail addresses and secrets never reach an audit entry or an error message.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from schutz.audit.service import record
from schutz.errors import Conflict, InvalidInput, Unauthenticated
from schutz.identity import throttle
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
API_KEY_SCHEME = "schutz"
BAD_LOGIN = "wrong e-mail address or password"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_KEY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")


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


class Throttled(Unauthenticated):
    """Too many failed sign-ins for this address from this network: wait `retry_after` seconds.

    No password was checked. Other networks are not affected, so a stranger cannot keep the
    owner of an account out.
    """

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(f"too many failed sign-ins; try again in {minutes} {unit}")
        self.retry_after = retry_after


@dataclass(frozen=True)
class SignInAttempt:
    """One counted sign-in attempt, between `begin_sign_in` and `finish_sign_in`.

    It holds plain values, not rows, so the caller may commit between the two steps.
    """

    account: str
    network: str
    number: int
    staff_id: str | None
    password_hash: str | None

    def password_matches(self, password: str) -> bool:
        """The argon2 check: slow and memory-hungry on purpose, so keep it off the event loop.
        An unknown or disabled address costs the same check against a dummy hash."""
        if self.password_hash is None:
            spend_check_time(password)
            return False
        return check_password(self.password_hash, password)


def begin_sign_in(session: Session, email: str, *, network: str, now: datetime) -> SignInAttempt:
    """Count a sign-in attempt for `email` from `network`, or raise `Throttled`.

    Known and unknown addresses are counted alike, so the answers do not tell them apart.
    Commit before checking the password: the count then holds no lock during the check.
    """
    account = throttle.account_key(email)
    number = throttle.count_attempt(session, account, network, now=now)
    if number is None:
        raise Throttled(throttle.seconds_to_wait(session, account, network, now=now))
    user = _staff_by_email(session, email)
    if user is None or user.disabled_at is not None:
        return SignInAttempt(account, network, number, None, None)
    return SignInAttempt(account, network, number, user.id, user.password_hash)


def _note_failure(session: Session, attempt: SignInAttempt, *, now: datetime) -> None:
    details: dict[str, object] = {"attempt": attempt.number}
    if attempt.staff_id is None:
        details["reason"] = "unknown"
    else:
        # One atomic increment: parallel failures never overwrite each other's count.
        details["staff_id"] = attempt.staff_id
        details["failures"] = session.execute(
            update(StaffUser)
            .where(StaffUser.id == attempt.staff_id)
            .values(failed_logins=StaffUser.failed_logins + 1)
            .returning(StaffUser.failed_logins)
            .execution_options(synchronize_session=False)
        ).scalar_one()
    delay = throttle.delay_after(attempt.number)
    if delay is not None:
        details["next_try_after_s"] = int(delay.total_seconds())
    record(session, actor="anonymous", action="staff.login_failed", details=details, now=now)


def finish_sign_in(
    session: Session, attempt: SignInAttempt, *, matched: bool, password: str, now: datetime
) -> StaffUser:
    """Settle a counted attempt: the staff user if the password matched, else Unauthenticated.

    A failure writes its audit entry and flushes before raising: the caller commits it.
    A success clears the throttle for this address and network and the failure count.
    """
    user = (
        session.get(StaffUser, attempt.staff_id, populate_existing=True)
        if attempt.staff_id
        else None
    )
    if not matched or user is None or user.disabled_at is not None:
        _note_failure(session, attempt, now=now)
        session.flush()
        raise Unauthenticated(BAD_LOGIN)
    throttle.clear(session, attempt.account, attempt.network, now=now)
    session.execute(
        update(StaffUser)
        .where(StaffUser.id == user.id)
        .values(failed_logins=0)
        .execution_options(synchronize_session=False)
    )
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


def authenticate_staff(
    session: Session, email: str, password: str, now: datetime, *, network: str = "unknown"
) -> StaffUser:
    """`begin_sign_in`, the password check and `finish_sign_in` in one transaction.

    For callers that may hold the transaction during the check (the CLI, tests); the
    sign-in page commits between the steps instead.
    """
    attempt = begin_sign_in(session, email, network=network, now=now)
    matched = attempt.password_matches(password)
    return finish_sign_in(session, attempt, matched=matched, password=password, now=now)


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


_KEY_BY_PREFIX = select(ApiKey).where(ApiKey.prefix == bindparam("prefix"))
"""Built once (every API request runs it): its cache key is computed once, not per call."""


def authenticate_api_key(session: Session, plaintext: str) -> ApiKey:
    """The live key `plaintext` belongs to, or Unauthenticated."""
    scheme, _, rest = plaintext.strip().partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != API_KEY_SCHEME or not prefix or not secret:
        raise Unauthenticated("invalid API key")
    key = session.scalars(_KEY_BY_PREFIX, {"prefix": prefix}).one_or_none()
    if key is None or not hmac.compare_digest(key.secret_hash, _sha256(secret)):
        raise Unauthenticated("invalid API key")
    if key.revoked_at is not None:
        raise Unauthenticated("this API key has been revoked")
    return key
