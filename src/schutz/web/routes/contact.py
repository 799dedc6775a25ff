"""`/contact`: the contact form on every page (C12), routing a question, an objection or a
data-subject request.

A question goes to support through the outbox, sealed under the sender's key. An objection
to marketing or to market research waits sealed for the worker, which writes it to the
consent ledger (channel web) when the address belongs to a known subject (C8). A
data-subject request (C11) enters the request workflow, which mails the address a link to
confirm it. The answer is the same in every
case, so the form never tells anyone whether an address is known.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from schutz.clock import utcnow
from schutz.config import Settings
from schutz.errors import InvalidInput
from schutz.mail.service import enqueue_mail
from schutz.mail.transport import sender_domain
from schutz.newsletter import tokens
from schutz.policy.schema import Policy
from schutz.subject_requests import lookups
from schutz.subject_requests.service import submit as submit_request
from schutz.vault import service as vault
from schutz.vault.validation import normalise_email
from schutz.web.deps import PolicyDep, SessionDep, SettingsDep, UnitOfWorkRoute
from schutz.web.errors import Revert
from schutz.web.i18n import pick_language
from schutz.web.routes.newsletter import NO_STORE, secret_of
from schutz.web.routes.requests_api import get_links
from schutz.web.routes.subjects import KeyringDep, RulesDep
from schutz.web.templating import render

router = APIRouter(include_in_schema=False, route_class=UnitOfWorkRoute)

FORM = "contact"
VISITOR = "subject"
MESSAGE_MAX = 5000
OBJECTIONS = {"object_marketing": "direct_marketing", "object_research": "market_research"}
REQUESTS = {
    "request_access": "access",
    "request_rectification": "rectification",
    "request_erasure": "erasure",
    "request_restriction": "restriction",
}
KINDS = ("question", *OBJECTIONS, *REQUESTS)


def support_address(policy: Policy, settings: Settings) -> str:
    """Where queries go: the controller's address from the policy, else support@ our domain.

    An installation on a bare host or IP (the embedded demo) gets `support@localhost.localdomain`:
    its mail stays in the .eml outbox, where `/staff/mail` shows it.
    """
    if policy.controller.email:
        return policy.controller.email
    domain = sender_domain(settings)
    return f"support@{domain if '.' in domain else 'localhost.localdomain'}"


def _form(
    request: Request, *, error: str | None = None, values: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:  # fmt: skip
    ctx = {
        "form_token": tokens.form_token(secret_of(request), FORM),
        "error": error,
        "values": values or {"kind": "question"},
        "kinds": KINDS,
    }
    response = render(request, "contact/form.html", ctx, status_code=status)
    response.headers.update(NO_STORE)
    return response


@router.get("/contact")
def contact_form(request: Request) -> Response:
    return _form(request)


def _forward(
    policy: Policy, settings: Settings, *, kind: str, email: str, name: str, message: str
) -> dict[str, object]:
    body = (
        f"Kind: {kind}\n"
        f"From: {name or '-'} <{email}>\n"
        "Received through the contact form. Reply to the sender's address.\n"
        "\n"
        f"{message}\n"
    )
    return {
        "to": support_address(policy, settings),
        "subject": f"Contact form: {kind.replace('_', ' ')}",
        "body": body,
        "headers": {"Reply-To": email},
    }


@router.post("/contact")
def send(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    rules: RulesDep,
    keyring: KeyringDep,
    kind: Annotated[str, Form(max_length=40)] = "question",
    email: Annotated[str, Form(max_length=320)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    message: Annotated[str, Form(max_length=MESSAGE_MAX)] = "",
    form_token: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    values = {"kind": kind, "email": email, "name": name, "message": message}
    try:
        tokens.check_form_token(secret_of(request), FORM, form_token)
    except InvalidInput:
        return _form(request, error="expired", values=values, status=400)
    if kind not in KINDS:
        return _form(request, error="kind", values=values, status=422)
    try:
        address = normalise_email(email)
    except InvalidInput:
        return _form(request, error="email", values=values, status=422)
    if kind == "question" and not message.strip():
        return _form(request, error="message", values=values, status=422)
    now = utcnow()
    if kind in OBJECTIONS:
        # Matched to a subject by the worker, after the answer: the form does the same
        # work, and answers as fast, for a known and an unknown address (invariant 8).
        job = {"email": address, "purpose": OBJECTIONS[kind], "actor": VISITOR}
        lookups.defer(session, keyring, lookups.OBJECTION, job, now=now)
    elif kind in REQUESTS:
        submit_request(
            session, rules, keyring, get_links(request, settings), kind=REQUESTS[kind],
            email=address, channel="web", details=message.strip() or None,
            lang=pick_language(request), actor=VISITOR, now=now,
        )  # fmt: skip
    else:
        data = {"email": address} | ({"name": name.strip()} if name.strip() else {})
        try:
            sender = vault.intake(
                session, rules, keyring, source="contact_form", purposes=["answer_queries"],
                data=data, asserted_by="form:contact", actor=VISITOR, now=now,
            ).subject_id  # fmt: skip
        except InvalidInput:
            raise Revert(_form(request, error="name", values=values, status=422)) from None
        mail = _forward(policy, settings, kind=kind, email=address, name=name.strip(),
                        message=message.strip())  # fmt: skip
        # Sealed under the sender's key, though it goes to support: it carries the sender's
        # name, address and words, and their erasure must reach it (invariants 3 and 4).
        enqueue_mail(
            session, to=str(mail["to"]), subject=str(mail["subject"]), body=str(mail["body"]),
            headers=mail["headers"],  # type: ignore[arg-type]
            idempotency_key=f"contact.{uuid.uuid4().hex}", now=now,
            subject_id=sender, keyring=keyring,
        )  # fmt: skip
    response = render(request, "contact/sent.html", {"kind": kind})
    response.headers.update(NO_STORE)
    return response
