"""Routing a contact-form message (C12) to where it belongs.

A question goes to support through the outbox, sealed under the sender's key. An objection
to marketing or to market research waits sealed for the worker, which writes it to the
consent ledger (channel web) when the address belongs to a known subject (C8). A
data-subject request (C11) enters the request workflow, which mails the address a link to
confirm it. Every kind does its work without telling the caller whether the address is
known, so the form can answer the same in every case (invariant 8).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from schutz.config import Settings
from schutz.errors import InvalidInput
from schutz.mail.service import enqueue_mail
from schutz.mail.transport import sender_domain
from schutz.policy.engine import Engine
from schutz.policy.schema import Policy
from schutz.subject_requests import lookups
from schutz.subject_requests.service import submit as submit_request
from schutz.subject_requests.tokens import Links
from schutz.vault import service as vault
from schutz.vault.keys import Keyring
from schutz.vault.validation import normalise_email

VISITOR = "subject"
MESSAGE_MAX = 5000
QUESTION = "question"
OBJECTIONS = {"object_marketing": "direct_marketing", "object_research": "market_research"}
REQUESTS = {
    "request_access": "access",
    "request_rectification": "rectification",
    "request_erasure": "erasure",
    "request_restriction": "restriction",
}
KINDS = (QUESTION, *OBJECTIONS, *REQUESTS)


class Unacceptable(InvalidInput):
    """The message cannot be taken as sent; `field` names what to correct (422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ContactMessage:
    kind: str
    email: str
    name: str = ""
    message: str = ""


def support_address(policy: Policy, settings: Settings) -> str:
    """Where queries go: the controller's address from the policy, else support@ our domain.

    An installation on a bare host or IP (the embedded demo) gets `support@localhost.localdomain`:
    its mail stays in the .eml outbox, where `/staff/mail` shows it.
    """
    if policy.controller.email:
        return policy.controller.email
    domain = sender_domain(settings)
    return f"support@{domain if '.' in domain else 'localhost.localdomain'}"


def check_message(sent: ContactMessage) -> ContactMessage:
    """The message with its address normalised, or `Unacceptable` naming the field."""
    if sent.kind not in KINDS:
        raise Unacceptable("kind", "kind: not a kind of contact message")
    try:
        address = normalise_email(sent.email)
    except InvalidInput as exc:
        raise Unacceptable("email", str(exc)) from None
    if sent.kind == QUESTION and not sent.message.strip():
        raise Unacceptable("message", "message: a question needs a few words")
    return ContactMessage(sent.kind, address, sent.name.strip(), sent.message.strip())


def route_message(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    links: Links,
    sent: ContactMessage,
    *,
    support: str,
    lang: str,
    now: datetime,
) -> None:
    """Send one contact-form message where its kind says (the module's docstring)."""
    msg = check_message(sent)
    if msg.kind in OBJECTIONS:
        # Matched to a subject by the worker, after the answer: the form does the same
        # work, and answers as fast, for a known and an unknown address (invariant 8).
        job = {"email": msg.email, "purpose": OBJECTIONS[msg.kind], "actor": VISITOR}
        lookups.defer(session, keyring, lookups.OBJECTION, job, now=now)
    elif msg.kind in REQUESTS:
        submit_request(
            session, rules, keyring, links, kind=REQUESTS[msg.kind], email=msg.email,
            channel="web", details=msg.message or None, lang=lang, actor=VISITOR, now=now,
        )  # fmt: skip
    else:
        _forward_question(session, rules, keyring, msg, support=support, now=now)


def _forward_question(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    msg: ContactMessage,
    *,
    support: str,
    now: datetime,
) -> None:
    data = {"email": msg.email} | ({"name": msg.name} if msg.name else {})
    try:
        sender = vault.intake(
            session, rules, keyring, source="contact_form", purposes=["answer_queries"],
            data=data, asserted_by="form:contact", actor=VISITOR, now=now,
        ).subject_id  # fmt: skip
    except InvalidInput as exc:
        raise Unacceptable("name", str(exc)) from None
    body = (
        f"Kind: {msg.kind}\n"
        f"From: {msg.name or '-'} <{msg.email}>\n"
        "Received through the contact form. Reply to the sender's address.\n"
        "\n"
        f"{msg.message}\n"
    )
    # Sealed under the sender's key, though it goes to support: it carries the sender's
    # name, address and words, and their erasure must reach it (invariants 3 and 4).
    enqueue_mail(
        session, to=support, subject=f"Contact form: {msg.kind.replace('_', ' ')}", body=body,
        headers={"Reply-To": msg.email}, idempotency_key=f"contact.{uuid.uuid4().hex}",
        now=now, subject_id=sender, keyring=keyring,
    )  # fmt: skip
