"""The privacy centre's sign-in: a mailed one-time link, exchanged for a server-side session.

Customers have no passwords. Whoever can read the mailbox of an address the vault holds may
open the centre for that subject; the link works once (a conditional update spends it) and
for 30 minutes, the session it opens for an hour. Only SHA-256 hashes of the random tokens
are stored. Asking for a link answers at once and the same whether or not the address is
known: the look-up and the mail run in the worker, from a sealed job.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.errors import InvalidInput, NotFound
from schutz.mail.service import enqueue_mail
from schutz.policy.schema import Policy
from schutz.subject_requests import holdings, lookups
from schutz.subject_requests.mails import compose
from schutz.subject_requests.models import AccountToken
from schutz.subject_requests.service import controller_line
from schutz.subject_requests.tokens import Links, link_url, random_token, token_hash
from schutz.vault import service as vault
from schutz.vault.keys import Keyring
from schutz.vault.validation import normalise_email

LINK_LIFETIME = timedelta(minutes=30)
SESSION_LIFETIME = timedelta(hours=1)
ACCOUNT_LOGIN_PATH = "/account/login"
LINK_SPENT = "this link is not valid any more; ask for a new one"


@dataclass(frozen=True, slots=True)
class AccountSession:
    subject_id: str
    csrf_token: str
    expires_at: datetime
    token_hash: str
    """SHA-256 of the session cookie: what a download link of this session is bound to."""


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
    """Queue the sign-in look-up for `email`, sealed; the worker mails a link if it is known.

    Nothing here touches the vault, so the answer is the same, and as quick, for a known
    and an unknown address (equal answers). Raises `InvalidInput` only for something that
    is not an e-mail address at all, which is decided without any look-up.
    """
    try:
        address = normalise_email(email)
    except InvalidInput:
        raise InvalidInput("email: this is not a valid e-mail address") from None
    job = {
        "email": address,
        "lang": lang,
        "base_url": links.base_url,
    }
    lookups.defer(session, keyring, lookups.ACCOUNT_LINK, job, now=now)


def send_link(
    session: Session, policy: Policy, keyring: Keyring, job: Mapping[str, Any], *, now: datetime
) -> bool:
    """The deferred half of `request_link`: mail a one-time link if the address is known.

    Runs in the worker, after the form's answer has left; returns whether a mail was queued.
    """
    address = str(job["email"])
    try:
        subject_id = vault.find_subject(session, keyring, address, actor="subject", now=now)
    except NotFound:  # no mail, and nobody is told
        return False
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
        str(job.get("lang", "en")),
        link=link_url(str(job["base_url"]), ACCOUNT_LOGIN_PATH, token),
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
    return True


def link_is_valid(session: Session, token: str, *, now: datetime) -> bool:
    row = session.get(AccountToken, token_hash(token)) if token else None
    return row is not None and row.kind == "link" and row.used_at is None and now < row.expires_at


def open_session(session: Session, token: str, *, now: datetime) -> str:
    """Use a sign-in link once and return the new session's cookie token.

    The link is spent by one conditional UPDATE that must touch exactly one row: of any
    number of parallel opens, the database lets one through and the others find it used.
    """
    if not token:
        raise InvalidInput(LINK_SPENT)
    claimed = session.execute(
        update(AccountToken)
        .where(
            AccountToken.token_hash == token_hash(token),
            AccountToken.kind == "link",
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(AccountToken.subject_id)
        .execution_options(synchronize_session=False)
    ).all()
    if len(claimed) != 1:
        raise InvalidInput(LINK_SPENT)
    subject_id = str(claimed[0].subject_id)
    if not holdings.is_live(session, subject_id):
        raise InvalidInput(LINK_SPENT)
    cookie = random_token()
    session.add(
        AccountToken(
            token_hash=token_hash(cookie),
            kind="session",
            subject_id=subject_id,
            csrf_token=secrets.token_urlsafe(24),
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    session.execute(delete(AccountToken).where(AccountToken.expires_at < now - timedelta(days=1)))
    session.flush()
    audit.record(
        session, actor="subject", action="account.signed_in", subject_id=subject_id, now=now
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
    return AccountSession(row.subject_id, row.csrf_token, row.expires_at, row.token_hash)


def end_session(session: Session, cookie: str) -> None:
    if cookie:
        session.execute(delete(AccountToken).where(AccountToken.token_hash == token_hash(cookie)))
        session.flush()
