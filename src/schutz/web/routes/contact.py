"""`/contact`: the contact form on every page (C12). The routing of a question, an
objection or a data-subject request is `schutz.contact`'s; the answer is the same in every
case, so the form never tells anyone whether an address is known.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from schutz.clock import utcnow
from schutz.contact import service as contact
from schutz.contact.service import KINDS, MESSAGE_MAX, support_address
from schutz.errors import InvalidInput
from schutz.newsletter import tokens
from schutz.web.deps import (
    KeyringDep,
    PolicyDep,
    RulesDep,
    SessionDep,
    SettingsDep,
    UnitOfWorkRoute,
    get_links,
)
from schutz.web.errors import Revert
from schutz.web.i18n import pick_language
from schutz.web.routes.newsletter import NO_STORE, secret_of
from schutz.web.templating import render

router = APIRouter(include_in_schema=False, route_class=UnitOfWorkRoute)

FORM = "contact"


def _form(
    request: Request, *, error: str | None = None, values: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:  # fmt: skip
    ctx = {
        "form_token": tokens.form_token(secret_of(request), FORM),
        "error": error,
        "values": values or {"kind": "question"},
        "kinds": KINDS,
        "message_max": MESSAGE_MAX,
    }
    response = render(request, "contact/form.html", ctx, status_code=status)
    response.headers.update(NO_STORE)
    return response


@router.get("/contact")
def contact_form(request: Request) -> Response:
    return _form(request)


@router.post("/contact")
def send(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    rules: RulesDep,
    keyring: KeyringDep,
    kind: Annotated[str, Form(max_length=40)] = "question",
    email: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    message: Annotated[str, Form()] = "",
    form_token: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    values = {"kind": kind, "email": email, "name": name, "message": message}
    try:
        tokens.check_form_token(secret_of(request), FORM, form_token)
    except InvalidInput:
        return _form(request, error="expired", values=values, status=400)
    if len(message) > MESSAGE_MAX:  # refused whole, never cut: the sender decides what goes
        return _form(request, error="message_long", values=values, status=422)
    sent = contact.ContactMessage(kind=kind, email=email, name=name, message=message)
    try:
        contact.route_message(
            session, rules, keyring, get_links(request, settings), sent,
            support=support_address(policy, settings), lang=pick_language(request), now=utcnow(),
        )  # fmt: skip
    except contact.Unacceptable as exc:
        raise Revert(_form(request, error=exc.field, values=values, status=422)) from None
    response = render(request, "contact/sent.html", {"kind": kind})
    response.headers.update(NO_STORE)
    return response
