"""The privacy centre's sign-in: a mailed one-time link, exchanged for a server-side session.

Customers have no passwords. Whoever can read the mailbox of an address the vault holds may
open the centre for that subject; the link works once and for 30 minutes, the session it
opens for an hour. Only SHA-256 hashes of the random tokens are stored. Asking for a link
answers the same whether or not the address is known.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.errors import InvalidInput, NotFound
from schutz.mail.service import enqueue_mail
from schutz.policy.schema import Policy
from schutz.subject_requests import holdings
from schutz.subject_requests.mails import compose
from schutz.subject_requests.models import AccountToken
from schutz.subject_requests.service import controller_line
from schutz.subject_requests.tokens import Links, random_token, token_hash
from schutz.vault import service as vault
from schutz.vault.keys import Keyring
from schutz.vault.validation import normalise_email

LINK_LIFETIME = timedelta(minutes=30)
SESSION_LIFETIME = timedelta(hours=1)
ACCOUNT_LOGIN_PATH = "/account/login"


@dataclass(frozen=True, slots=True)
class AccountSession:
    subject_id: str
    csrf_token: str
    expires_at: datetime


def request_link(
    session: Session,
    policy: Policy,
    keyring: Keyring,
    links: Links,
    *,
    email: str,
    lang: str,
    now: datetime,
) -> None:
    """Mail a one-time sign-in link if the address is known; nothing otherwise.

    Raises `InvalidInput` only for something that is not an e-mail address at all.
    """
    try:
        address = normalise_email(email)
    except InvalidInput:
        raise InvalidInput("email: this is not a valid e-mail address") from None
    try:
        subject_id = vault.find_subject(session, keyring, address, actor="subject", now=now)
    except NotFound:  # the same answer, and no mail
        return
    token = random_token()
    session.add(
        AccountToken(
            token_hash=token_hash(token),
            kind="link",
            subject_id=subject_id,
            created_at=now,
            expires_at=now + LINK_LIFETIME,
        )
    )
    session.flush()
    mail = compose(
        "account",
        lang,
        link=links.url(ACCOUNT_LOGIN_PATH, token),
        controller=controller_line(policy),
    )
    enqueue_mail(
        session,
        to=address,
        subject=mail.subject,
        body=mail.body,
        idempotency_key=f"account-link:{token_hash(token)}",
        now=now,
        subject_id=subject_id,
        keyring=keyring,
    )
    audit.record(
        session, actor="subject", action="account.link_sent", subject_id=subject_id, now=now
    )


def link_is_valid(session: Session, token: str, *, now: datetime) -> bool:
    row = session.get(AccountToken, token_hash(token)) if token else None
    return row is not None and row.kind == "link" and row.used_at is None and now < row.expires_at


def open_session(session: Session, token: str, *, now: datetime) -> str:
    """Use a sign-in link once and return the new session's cookie token."""
    row = session.get(AccountToken, token_hash(token)) if token else None
    if row is None or row.kind != "link" or row.used_at is not None or now >= row.expires_at:
        raise InvalidInput("this link is not valid any more; ask for a new one")
    if not holdings.is_live(session, row.subject_id):
        raise InvalidInput("this link is not valid any more; ask for a new one")
    row.used_at = now
    cookie = random_token()
    session.add(
        AccountToken(
            token_hash=token_hash(cookie),
            kind="session",
            subject_id=row.subject_id,
            csrf_token=secrets.token_urlsafe(24),
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    session.execute(delete(AccountToken).where(AccountToken.expires_at < now - timedelta(days=1)))
    session.flush()
    audit.record(
        session, actor="subject", action="account.signed_in", subject_id=row.subject_id, now=now
    )
    return cookie


def current_session(session: Session, cookie: str, *, now: datetime) -> AccountSession | None:
    """The live session behind the cookie, or None (expired, ended, or its subject erased)."""
    if not cookie:
        return None
    row = session.scalars(
        select(AccountToken).where(
            AccountToken.token_hash == token_hash(cookie), AccountToken.kind == "session"
        )
    ).first()
    if row is None or now >= row.expires_at or row.csrf_token is None:
        return None
    if not holdings.is_live(session, row.subject_id):
        return None
    return AccountSession(row.subject_id, row.csrf_token, row.expires_at)


def end_session(session: Session, cookie: str) -> None:
    if cookie:
        session.execute(delete(AccountToken).where(AccountToken.token_hash == token_hash(cookie)))
        session.flush()
