"""Console pages for what arrives on paper or by phone, and the embedded outbox.

`/staff/objections`: support enters an objection received by post, fax or phone (C8): find
the subject by e-mail through the vault's blind index, name the channel and the evidence
(the scan reference), choose the purposes; each becomes an objection event. The vault has no
look-up by name or postal address yet, so the page offers the e-mail look-up only.
`/staff/mail`: the .eml files of the embedded mode, so that a demo user can open the mails
Schutz sent and click their links. Outside `--demo` the tokens in those links are hidden: a
sign-in, verification or confirmation link would let staff act as the customer (invariant 8).
"""

from __future__ import annotations

import re
from email import policy as email_policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import Response

from schutz.clock import utcnow
from schutz.consent.service import record_consent
from schutz.errors import InvalidInput, NotFound
from schutz.policy.schema import Policy
from schutz.systems import events as system_events
from schutz.vault import service as vault
from schutz.web.auth import StaffContext, require_staff
from schutz.web.deps import KeyringDep, PolicyDep, SessionDep, SettingsDep, UnitOfWorkRoute
from schutz.web.i18n import pick_language
from schutz.web.staff_view import staff_page

router = APIRouter(prefix="/staff", include_in_schema=False, route_class=UnitOfWorkRoute)

PAPER_CHANNELS = ("post", "fax", "phone")
MAIL_LIMIT = 200
_MAIL_ID = re.compile(r"[0-9a-f]{32}")
_URL = re.compile(r"https?://[^\s<>\"']+")
# Query parameters that carry a credential in the links Schutz mails.
_SECRET_PARAM = re.compile(r"([?&](?:token|code|key|sig|signature)=)[^&#\s<>\"']+", re.IGNORECASE)
HIDDEN = "[hidden]"

Support = Annotated[StaffContext, Depends(require_staff("support", "dpo", "admin"))]


def objectable(policy: Policy) -> list[tuple[str, str]]:
    """(key, English name) of every purpose a subject may object to (Art. 21 GDPR)."""
    return [(k, p.name.en) for k, p in policy.purposes.items() if p.objectable]


def _objections_page(
    request: Request, staff: StaffContext, policy: Policy, *, status: int = 200,
    **ctx: object,
) -> Response:  # fmt: skip
    context: dict[str, object] = {
        "staff": staff,
        "purposes": [(k, p.name.get(pick_language(request))) for k, p in policy.purposes.items()
                     if p.objectable],
        "channels": PAPER_CHANNELS,
        "result": None,
        "error": None,
        "values": {"channel": "post", "purposes": ["direct_marketing"]},
    }  # fmt: skip
    context.update(ctx)
    return staff_page(request, "staff/paper/objections.html", context, status=status)


@router.get("/objections")
def objections_form(request: Request, staff: Support, policy: PolicyDep) -> Response:
    return _objections_page(request, staff, policy)


@router.post("/objections")
def record_objection(
    request: Request,
    session: SessionDep,
    policy: PolicyDep,
    keyring: KeyringDep,
    staff: Support,
    email: Annotated[str, Form(max_length=320)] = "",
    channel: Annotated[str, Form(max_length=10)] = "",
    evidence: Annotated[str, Form(max_length=200)] = "",
    purposes: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Each chosen purpose gets an objection event with channel and evidence; audited."""
    chosen = list(dict.fromkeys(purposes or []))
    values = {"channel": channel, "purposes": chosen, "evidence": evidence, "email": email}
    allowed = {k for k, _ in objectable(policy)}
    problem = None
    if channel not in PAPER_CHANNELS:
        problem = "channel"
    elif not evidence.strip():
        problem = "evidence"
    elif not chosen or not set(chosen) <= allowed:
        problem = "purposes"
    if problem:
        return _objections_page(request, staff, policy, error=problem, values=values, status=422)
    now = utcnow()
    try:
        subject_id = vault.find_subject(session, keyring, email, actor=staff.actor.label, now=now)
    except (NotFound, InvalidInput):
        return _objections_page(request, staff, policy, error="unknown", values=values,
                                status=404)  # fmt: skip
    events = [
        record_consent(
            session, policy, subject_id=subject_id, purpose=purpose, action="object",
            channel=channel, evidence=evidence.strip(), actor=staff.actor.label, now=now,
        ).id
        for purpose in chosen
    ]  # fmt: skip
    for purpose in chosen:
        system_events.consent_changed(
            session, policy, keyring, subject_id, purpose=purpose, action="object",
            actor=staff.actor.label, now=now,
        )  # fmt: skip
    result = {"subject_id": subject_id, "events": events, "purposes": chosen}
    return _objections_page(request, staff, policy, result=result)


# --- the embedded outbox -------------------------------------------------------------------


def _read(path: Path) -> EmailMessage:
    with path.open("rb") as fh:
        return BytesParser(policy=email_policy.default).parse(fh)


def hide_link_tokens(text: str) -> str:
    """`text` with the value of every credential parameter in its links replaced."""
    return _SECRET_PARAM.sub(lambda m: m.group(1) + HIDDEN, text)


def _linkify(text: str, *, live: bool) -> Markup:
    """The mail's text, escaped, with its web links clickable when `live` (the demo); else
    the links' tokens are hidden and a link that held one is plain text."""
    out: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        out.append(str(escape(text[last : match.start()])))
        shown = match.group(0) if live else hide_link_tokens(match.group(0))
        url = escape(shown)
        out.append(f'<a href="{url}">{url}</a>' if HIDDEN not in shown else str(url))
        last = match.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))  # noqa: S704 - every piece above is escaped


@router.get("/mail")
def mail_list(request: Request, staff: Support, settings: SettingsDep) -> Response:
    directory = settings.outbox_dir
    mails = []
    if settings.smtp_url is None and directory.is_dir():
        files = sorted(directory.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True)
        for path in files[:MAIL_LIMIT]:
            msg = _read(path)
            mails.append(
                {"id": path.stem, "subject": msg["Subject"], "to": msg["To"], "date": msg["Date"]}
            )
    return staff_page(
        request,
        "staff/paper/mail.html",
        {"staff": staff, "mails": mails, "smtp": settings.smtp_url is not None},
    )


@router.get("/mail/{mail_id}")
def mail_message(request: Request, mail_id: str, staff: Support, settings: SettingsDep) -> Response:
    path = settings.outbox_dir / f"{mail_id}.eml"
    if settings.smtp_url is not None or not _MAIL_ID.fullmatch(mail_id) or not path.is_file():
        raise NotFound("no such mail in the outbox")
    msg = _read(path)
    part = msg.get_body(preferencelist=("plain",))
    text = part.get_content() if part is not None else ""
    live = settings.demo
    headers = [(k, str(msg[k]) if live else hide_link_tokens(str(msg[k])))
               for k in ("From", "To", "Subject", "Date", "List-Unsubscribe",
                         "List-Unsubscribe-Post") if msg[k]]  # fmt: skip
    context = {
        "staff": staff,
        "headers": headers,
        "body": _linkify(str(text), live=live),
        "mail_id": mail_id,
        "subject": str(msg["Subject"] or ""),
        "hidden": not live,
    }
    return staff_page(request, "staff/paper/mail_message.html", context)
