"""Double opt-in, confirmation, unsubscribe and issues: the newsletter's state changes.

Each function flushes and never commits; the consent ledger and the audit log are written in
the caller's transaction, and mails leave through the outbox only after it commits. The
address is bound to the newsletter purpose (C18): it enters the vault with that purpose only.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.consent.service import (
    ConsentState,
    PurposeState,
    derive_state,
    history,
    record_consent,
    waiting_ask,
)
from schutz.consent.vocabulary import ConsentAction
from schutz.errors import Conflict, InvalidInput
from schutz.mail.service import enqueue_mail
from schutz.newsletter import tokens
from schutz.newsletter.audience import audience
from schutz.newsletter.mails import confirmation_mail, issue_body
from schutz.policy.engine import Engine
from schutz.policy.schema import Policy
from schutz.vault import service as vault
from schutz.vault.keys import Keyring

SOURCE = "newsletter"
SUBJECT_MAX = 200
BODY_MAX = 100_000
ONE_CLICK = "List-Unsubscribe=One-Click"


@dataclass(frozen=True)
class Links:
    """What links in mails are built from: the public base URL and the signing secret."""

    base_url: str
    secret: bytes | Sequence[bytes]  # the last one signs; all of them verify

    def url(self, path: str, token: str) -> str:
        return f"{self.base_url.rstrip('/')}{path}?token={quote(token)}"


@dataclass(frozen=True)
class SignUpResult:
    subject_id: str
    grant_event_id: int | None
    """None when the address was already confirmed: nothing new was asked for."""


@dataclass(frozen=True)
class IssueResult:
    issue_id: str
    recipients: int


def newsletter_purpose(policy: Policy) -> str:
    if policy.newsletter is None:
        raise InvalidInput("the privacy policy in force offers no newsletter")
    return policy.newsletter.purpose


def _state(session: Session, policy: Policy, subject_id: str, purpose: str) -> PurposeState | None:
    return derive_state(policy, history(session, subject_id)).get(purpose)


def _controller_line(policy: Policy) -> str:
    c = policy.controller
    return ", ".join((c.name, *c.address.lines()))


def sign_up(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    links: Links,
    *,
    email: str,
    wording: str,
    wording_version: str,
    form_url: str,
    ip: str | None,
    user_agent: str | None,
    lang: str,
    actor: str,
    now: datetime,
) -> SignUpResult:
    """Take the address for the newsletter alone and ask its owner to confirm (double opt-in).

    The grant keeps the proof German practice asks for (BGH I ZR 164/09): sign-up time,
    truncated IP, user agent, form URL, the hash and version of the wording shown and the
    policy version. The confirmation mail carries a signed link that lapses after three days.
    An address that is already confirmed gets no new mail; the caller answers the same.
    """
    policy = rules.policy
    purpose = newsletter_purpose(policy)
    stored = vault.intake(
        session,
        rules,
        keyring,
        source=SOURCE,
        purposes=[purpose],
        data={"email": email},
        asserted_by="form:newsletter",
        actor=actor,
        now=now,
    )
    current = _state(session, policy, stored.subject_id, purpose)
    if current is not None and current.state is ConsentState.CONFIRMED:
        return SignUpResult(stored.subject_id, None)
    grant = record_consent(
        session,
        policy,
        subject_id=stored.subject_id,
        purpose=purpose,
        action=ConsentAction.GRANT.value,
        channel="web",
        evidence=f"form:{form_url}",
        wording=wording,
        wording_version=wording_version,
        ip=ip,
        user_agent=user_agent,
        actor=actor,
        now=now,
    )
    _mail_confirmation(
        session, policy, keyring, links, email, stored.subject_id, grant.id, lang=lang, now=now
    )
    return SignUpResult(stored.subject_id, grant.id)


def _mail_confirmation(
    session: Session,
    policy: Policy,
    keyring: Keyring,
    links: Links,
    email: str,
    subject_id: str,
    grant_id: int,
    *,
    lang: str,
    now: datetime,
) -> None:
    """Queue the double opt-in mail: a signed link naming the subject and the grant."""
    token = tokens.sign(links.secret, tokens.CONFIRM, {"s": subject_id, "g": grant_id})
    mail = confirmation_mail(
        lang,
        site=policy.controller.name,
        link=links.url("/newsletter/confirm", token) + (f"&lang={lang}" if lang != "en" else ""),
        controller=_controller_line(policy),
    )
    enqueue_mail(
        session,
        to=email,
        subject=mail.subject,
        body=mail.body,
        idempotency_key=f"newsletter.confirm.{grant_id}",
        now=now,
        subject_id=subject_id,
        keyring=keyring,
    )


def confirm(
    session: Session,
    policy: Policy,
    links: Links,
    *,
    token: str,
    ip: str | None,
    user_agent: str | None,
    actor: str,
    now: datetime,
) -> str:
    """Record the confirmation of the sign-up the token was made for; return the subject id.

    The event keeps the time, truncated IP, user agent and the token's id. A link for an
    older sign-up, a second click, or a link after unsubscribing changes nothing (`Conflict`);
    an expired or forged link raises `TokenExpired` / `TokenInvalid`.
    """
    payload = tokens.load(links.secret, tokens.CONFIRM, token, max_age=tokens.CONFIRM_MAX_AGE)
    subject_id, grant_id = payload.get("s"), payload.get("g")
    if not isinstance(subject_id, str) or not isinstance(grant_id, int):
        raise tokens.TokenInvalid("this link is not valid")
    purpose = newsletter_purpose(policy)
    vault.lock_subject(session, subject_id)  # parallel clicks on one link confirm once
    # The owner's confirmation of an ask made after an objection lifts it: look past it.
    current = waiting_ask(session, policy, subject_id, purpose) or _state(
        session, policy, subject_id, purpose
    )
    if current is not None and current.state is ConsentState.CONFIRMED:
        raise Conflict("this subscription is already confirmed")
    if current is None or current.state is not ConsentState.GRANTED or current.event_id != grant_id:
        raise Conflict("this link belongs to a sign-up that is no longer waiting for confirmation")
    record_consent(
        session,
        policy,
        subject_id=subject_id,
        purpose=purpose,
        action=ConsentAction.CONFIRM.value,
        channel="web",
        evidence=f"token:{tokens.token_id(token)}",
        ip=ip,
        user_agent=user_agent,
        actor=actor,
        now=now,
    )
    return subject_id


def unsubscribe_token(links: Links, subject_id: str) -> str:
    """The personal unsubscribe token: it never expires, since C19 says "at any time"."""
    return tokens.sign(links.secret, tokens.UNSUBSCRIBE, {"s": subject_id})


def subject_of_unsubscribe(links: Links, token: str) -> str:
    payload = tokens.load(links.secret, tokens.UNSUBSCRIBE, token)
    subject_id = payload.get("s")
    if not isinstance(subject_id, str):
        raise tokens.TokenInvalid("this link is not valid")
    return subject_id


def unsubscribe(
    session: Session,
    policy: Policy,
    links: Links,
    *,
    token: str,
    how: str,
    ip: str | None,
    user_agent: str | None,
    actor: str,
    now: datetime,
) -> bool:
    """Withdraw newsletter consent for the token's subject (Art. 7(3) GDPR, C19).

    `how` says which door was used (`one-click` per RFC 8058, `page`); it goes into the
    evidence with the token's id. Returns False, writing nothing, when the subject was not
    subscribed any more: a repeated click is harmless.
    """
    subject_id = subject_of_unsubscribe(links, token)
    purpose = newsletter_purpose(policy)
    current = _state(session, policy, subject_id, purpose)
    if current is None or current.state not in (ConsentState.GRANTED, ConsentState.CONFIRMED):
        return False
    record_consent(
        session,
        policy,
        subject_id=subject_id,
        purpose=purpose,
        action=ConsentAction.WITHDRAW.value,
        channel="web",
        evidence=f"unsubscribe:{how}; token:{tokens.token_id(token)}",
        ip=ip,
        user_agent=user_agent,
        actor=actor,
        now=now,
    )
    return True


def send_issue(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    links: Links,
    *,
    subject: str,
    body: str,
    actor: str,
    role: str,
    now: datetime,
) -> IssueResult:
    """Queue one mail per confirmed, non-withdrawn, non-objected subscriber.

    Every mail carries the subscriber's own unsubscribe link, in the text and as
    `List-Unsubscribe` with `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 2369,
    RFC 8058), so mail programs offer a one-click button that needs no cookie or sign-in.
    """
    subject = subject.strip()
    if not subject or len(subject) > SUBJECT_MAX or "\n" in subject or "\r" in subject:
        raise InvalidInput(f"subject: one line of 1 to {SUBJECT_MAX} characters")
    if not body.strip() or len(body) > BODY_MAX:
        raise InvalidInput(f"body: 1 to {BODY_MAX} characters of text")
    purpose = newsletter_purpose(rules.policy)
    issue_id = uuid.uuid4().hex
    controller = _controller_line(rules.policy)
    count = 0
    for subject_id, email in audience(
        session, rules, keyring, purpose, actor=actor, role=role, now=now
    ):
        link = links.url("/newsletter/unsubscribe", unsubscribe_token(links, subject_id))
        enqueue_mail(
            session,
            to=email,
            subject=subject,
            body=issue_body(body, link=link, controller=controller),
            headers={"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": ONE_CLICK},
            idempotency_key=f"newsletter.issue.{issue_id}.{subject_id}",
            now=now,
            subject_id=subject_id,
            keyring=keyring,
        )
        count += 1
    audit.record(
        session,
        actor=actor,
        action="newsletter.issue",
        purpose=purpose,
        details={"issue_id": issue_id, "recipients": count},
        now=now,
    )
    return IssueResult(issue_id, count)
