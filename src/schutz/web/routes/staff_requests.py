"""Staff console: the request queue with deadlines, request entry for post, fax and phone,
each request's history and actions, and the Art. 30 records of processing.

Support verifies and handles requests; only the DPO approves erasures and extensions. Every
action is one service call, audited in the same transaction.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from schutz.clock import utcnow
from schutz.errors import Conflict, Denied, InvalidInput
from schutz.policy.ropa import records_of_processing
from schutz.subject_requests import service
from schutz.subject_requests.models import RequestKind, RequestStatus
from schutz.subject_requests.self_service import EDITABLE  # the fields a correction may change
from schutz.systems import answers
from schutz.web.audit_text import describe
from schutz.web.auth import StaffContext, require_staff
from schutz.web.deps import (
    Desk,
    DeskDep,
    FormDep,
    KeyringDep,
    LangDep,
    RulesDep,
    SessionDep,
    UnitOfWorkRoute,
)
from schutz.web.errors import Revert
from schutz.web.i18n import N_, translations
from schutz.web.routes.requests_api import NO_STORE
from schutz.web.staff_view import Names, names_for, staff_page

router = APIRouter(prefix="/staff", include_in_schema=False, route_class=UnitOfWorkRoute)

Handler = Annotated[StaffContext, Depends(require_staff("support", "dpo", "admin"))]
Records = Annotated[StaffContext, Depends(require_staff("dpo", "admin"))]
STAFF_CHANNELS = ("post", "fax", "phone", "email")


def _page(
    request: Request, name: str, ctx: dict[str, Any], status: int = 200, names: Names | None = None
) -> HTMLResponse:
    return staff_page(request, f"staff/requests/{name}", ctx, status=status, names=names)


def _detail_url(request_id: str, lang: str, done: str = "") -> RedirectResponse:
    url = f"/staff/requests/{request_id}?lang={lang}" + (f"&done={done}" if done else "")
    return RedirectResponse(url, status_code=303)


@router.get("/requests")
def queue(
    request: Request,
    session: SessionDep,
    staff: Handler,
    status: str = "",
    kind: str = "",
    overdue: bool = False,
) -> Response:
    now = utcnow()
    rows = service.list_requests(
        session, status=status or None, kind=kind or None, overdue=overdue, now=now
    )
    names = names_for(request, staff, session, (r.handler for r in rows if r.handler))
    ctx = {
        "staff": staff,
        "rows": [(r, service.is_overdue(r, now)) for r in rows],
        "pending": {
            request_id: [a.system for a in found if a.status == "pending"]
            for request_id, found in answers.answers_of(
                session, [r.id for r in rows if r.status == "awaiting_systems"]
            ).items()
        },
        "statuses": [s.value for s in RequestStatus],
        "kinds": [k.value for k in RequestKind],
        "status": status,
        "kind": kind,
        "overdue": overdue,
        "now": now,
    }
    return _page(request, "queue.html", ctx, names=names)


@router.get("/requests.csv")
def queue_csv(
    session: SessionDep, staff: Handler, status: str = "", kind: str = "", overdue: bool = False
) -> Response:
    now = utcnow()
    rows = service.list_requests(
        session, status=status or None, kind=kind or None, overdue=overdue, now=now
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["request_id", "kind", "channel", "status", "received_at", "due_at", "overdue",
         "verified_at", "handler", "extended_months", "completed_at", "outcome"]
    )  # fmt: skip
    for r in rows:
        writer.writerow(
            [r.id, r.kind, r.channel, r.status, r.received_at.isoformat(), r.due_at.isoformat(),
             "yes" if service.is_overdue(r, now) else "no",
             r.verified_at.isoformat() if r.verified_at else "", r.handler or "",
             r.extended_months, r.completed_at.isoformat() if r.completed_at else "",
             r.outcome or ""]
        )  # fmt: skip
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={**NO_STORE, "Content-Disposition": 'attachment; filename="requests.csv"'},
    )


BLANK_ENTRY = {
    "kind": "access",
    "channel": "post",
    "email": "",
    "details": "",
    "subject_lang": "de",
}
FIELD_ERRORS = {
    "email": N_("This is not a valid e-mail address. Check the letter, e.g. for a missing dot."),
    "kind": N_("Choose the kind of request."),
    "channel": N_("Choose how the request arrived."),
    "details": N_("This is too long: at most 4,000 characters."),
}


def _entry_page(
    request: Request, staff: StaffContext, values: dict[str, str], errors: dict[str, str]
) -> HTMLResponse:
    ctx = {
        "staff": staff,
        "kinds": [k.value for k in RequestKind],
        "channels": STAFF_CHANNELS,
        "values": values,
        "errors": errors,
    }
    return _page(request, "new.html", ctx, status=422 if errors else 200)


@router.get("/requests/new")
def entry_form(request: Request, staff: Handler) -> Response:
    return _entry_page(request, staff, BLANK_ENTRY, {})


@router.post("/requests/new")
def enter_request(
    request: Request,
    desk: DeskDep,
    staff: Handler,
    kind: Annotated[str, Form(max_length=20)] = "",
    channel: Annotated[str, Form(max_length=10)] = "post",
    email: Annotated[str, Form(max_length=320)] = "",
    details: Annotated[str, Form(max_length=4000)] = "",
    subject_lang: Annotated[str, Form(max_length=2)] = "de",
) -> Response:
    """A request received by post, fax or phone, entered by staff; it is verified by the
    mailed link or, with a note, by staff."""
    values = {"kind": kind, "channel": channel, "email": email, "details": details,
              "subject_lang": subject_lang}  # fmt: skip
    try:
        if channel not in STAFF_CHANNELS:
            raise InvalidInput("channel: not a request channel")
        made = service.submit(
            desk.session, desk.rules, desk.keyring, desk.links, kind=kind, email=email,
            channel=channel, details=details, lang=subject_lang, actor=staff.actor.label,
            now=utcnow(),
        )  # fmt: skip
    except InvalidInput as exc:
        field = str(exc).partition(":")[0]
        message = FIELD_ERRORS.get(field, FIELD_ERRORS["details"])
        errors = {
            field if field in FIELD_ERRORS else "details": translations(desk.lang).gettext(message)
        }
        raise Revert(_entry_page(request, staff, values, errors)) from None
    return _detail_url(made.request_id, desk.lang, "entered")


@router.get("/requests/{request_id}")
def detail(
    request: Request,
    session: SessionDep,
    keyring: KeyringDep,
    staff: Handler,
    done: str = "",
    error: str = "",
) -> Response:
    found = service.get_request(session, request.path_params["request_id"])
    now = utcnow()
    events = service.history(session, found.id)
    labels = [e.actor for e in events] + ([found.handler] if found.handler else [])
    names = names_for(request, staff, session, labels)
    details = {"request_id": found.id, "kind": found.kind}
    ctx = {
        "staff": staff,
        "req": found,
        "events": [
            (e, describe(names, f"request.{e.action}", actor=e.actor, details=details))
            for e in events
        ],
        "details": service.details_of(session, keyring, found),
        "overdue": service.is_overdue(found, now),
        "open": service.is_open(found),
        "editable": EDITABLE,
        "done": done,
        "error": error,
    }
    return _page(request, "detail.html", ctx, names=names)


DONE = {
    "verify": "verified",
    "assign": "assigned",
    "approve": "approved",
    "extend": "extended",
    "refuse": "refused",
    "rectify": "rectified",
}
DPO_ONLY = ("approve", "extend")


@dataclass(frozen=True)
class _Step:
    """One staff action on one request, with what its form sent."""

    request_id: str
    note: str
    reason: str
    months: int
    edits: dict[str, str]


def _carry_out(
    action: str,
    step: _Step,
    desk: Desk,
    *,
    actor: str,
    now: datetime,
) -> None:
    session, rules, keyring, links = desk.session, desk.rules, desk.keyring, desk.links
    rid = step.request_id
    match action:
        case "verify":
            service.verify_manually(
                session, rules, keyring, links, rid, note=step.note, actor=actor, now=now
            )
        case "assign":
            service.assign(session, rid, actor=actor, now=now)
        case "approve":
            service.approve_erasure(session, rules, keyring, rid, actor=actor, now=now)
        case "extend":
            service.extend(
                session, rules, keyring, rid, months=step.months, reason=step.reason,
                actor=actor, now=now,
            )  # fmt: skip
        case "refuse":
            service.refuse(session, rules, keyring, rid, reason=step.reason, actor=actor, now=now)
        case _:
            service.apply_rectification(
                session, rules, keyring, rid, step.edits, actor=actor, now=now
            )


def _act(
    action: str,
    request_id: str,
    form: FormData,
    desk: Desk,
    staff: StaffContext,
    step: tuple[str, str, int],
) -> Response:
    if action in DPO_ONLY and staff.actor.role != "dpo":
        raise Denied("your role may not open this page", reason="role")
    edits = {
        name: value.strip()[:200]
        for name in EDITABLE
        if isinstance(value := form.get(name), str) and value.strip()
    }
    try:
        _carry_out(
            action, _Step(request_id, *step, edits), desk, actor=staff.actor.label, now=utcnow()
        )
    except (InvalidInput, Conflict) as exc:
        kind = "conflict" if isinstance(exc, Conflict) else "invalid"
        url = f"/staff/requests/{request_id}?lang={desk.lang}&error={kind}"
        raise Revert(RedirectResponse(url, status_code=303)) from None
    return _detail_url(request_id, desk.lang, DONE[action])


def _action_route(action: str) -> Callable[..., Response]:
    def act(
        request_id: str,
        form: FormDep,
        desk: DeskDep,
        staff: Handler,
        note: Annotated[str, Form(max_length=1000)] = "",
        reason: Annotated[str, Form(max_length=1000)] = "",
        months: Annotated[int, Form(ge=1, le=2)] = 1,
    ) -> Response:
        return _act(action, request_id, form, desk, staff, (note, reason, months))

    act.__name__ = f"{action}_request"
    return act


# One form (and route) per action: verify, assign, approve (DPO), extend (DPO), refuse, and
# rectify, which applies a correction received by post or fax (Art. 16; the recipients to
# tell are in the request's history, Art. 19).
for _action in DONE:
    router.post(f"/requests/{{request_id}}/{_action}")(_action_route(_action))


@router.get("/records")
def records(request: Request, rules: RulesDep, lang: LangDep, staff: Records) -> Response:
    """The record of processing activities (Art. 30(1) GDPR) from the policy in force."""
    policy = rules.policy
    ctx = {"staff": staff, "policy": policy, "rows": records_of_processing(policy, lang)}
    return _page(request, "records.html", ctx)


@router.get("/records.csv")
def records_csv(rules: RulesDep, lang: LangDep, staff: Records) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["purpose", "name", "legal_basis", "data_subjects", "categories", "recipients",
         "transfers", "erasure"]
    )  # fmt: skip
    for r in records_of_processing(rules.policy, lang):
        writer.writerow(
            [r.purpose, r.name, r.legal_basis, "; ".join(r.subjects), "; ".join(r.categories),
             "; ".join(r.recipients), r.transfers, r.erasure]
        )  # fmt: skip
    name = f"records-of-processing-{rules.policy.version}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/ropa")
def ropa(lang: LangDep, staff: Records) -> Response:
    """The dashboard's name for the records page."""
    return RedirectResponse(f"/staff/records?lang={lang}", status_code=303)
