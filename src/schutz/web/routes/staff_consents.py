"""`/staff/consents`: the consent records for the DPO, searched and exported (Art. 7(1) GDPR).

Search by the subject's id, by e-mail address (through the vault's blind index: the address
is hashed, looked up and forgotten; neither the page, the URL nor the audit log keeps it)
or by an analytics visitor id. Searches are form posts so no search term lands in a URL or
an access log. `/staff/consents.csv` gives the whole ledger, or one subject's or visitor's
part, with the text of the wording each record's hash names. Every read is audited.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form
from starlette.requests import Request
from starlette.responses import Response

from schutz.clock import utcnow
from schutz.consent.records import COLUMNS, ConsentRecord, audit_read, iter_records
from schutz.errors import InvalidInput, NotFound
from schutz.vault import service as vault
from schutz.web.auth import StaffContext, require_staff
from schutz.web.deps import KeyringDep, SessionDep, UnitOfWorkRoute
from schutz.web.spreadsheet import csv_download, csv_text
from schutz.web.templating import render

router = APIRouter(prefix="/staff", include_in_schema=False, route_class=UnitOfWorkRoute)

Dpo = Annotated[StaffContext, Depends(require_staff("dpo", "admin"))]
NO_STORE = {"Cache-Control": "no-store"}
SEARCHES = ("subject", "email", "visitor")
PAGE_LIMIT = 500
_OPAQUE = re.compile(r"[0-9A-Za-z_-]{1,64}")


def _page(request: Request, staff: StaffContext, status: int = 200, **ctx: object) -> Response:
    context: dict[str, object] = {
        "staff": staff, "searches": SEARCHES, "by": "subject", "records": None,
        "error": None, "subject_id": None, "more": False,
    }  # fmt: skip
    context.update(ctx)
    response = render(request, "staff/consents/index.html", context, status_code=status)
    response.headers.update(NO_STORE)
    return response


def _who(
    session: SessionDep, keyring: KeyringDep, staff: StaffContext, by: str, term: str
) -> tuple[str | None, str | None]:
    """(subject_id, visitor_id) for a search; `InvalidInput` or `NotFound` when none."""
    term = term.strip()
    if by == "email":
        found = vault.find_subject(session, keyring, term, actor=staff.actor.label, now=utcnow())
        return found, None
    if by not in SEARCHES or not _OPAQUE.fullmatch(term):
        raise InvalidInput("enter an id of letters, digits, '-' or '_'")
    return (term, None) if by == "subject" else (None, term)


@router.get("/consents")
def consents_form(request: Request, staff: Dpo) -> Response:
    return _page(request, staff)


@router.post("/consents")
def search(
    request: Request,
    session: SessionDep,
    keyring: KeyringDep,
    staff: Dpo,
    by: Annotated[str, Form(max_length=10)] = "subject",
    term: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """One subject's or visitor's consent history, oldest first, with wordings; audited."""
    try:
        subject_id, visitor_id = _who(session, keyring, staff, by, term)
    except (InvalidInput, NotFound) as exc:
        problem = "unknown" if isinstance(exc, NotFound) else "invalid"
        return _page(request, staff, status=404 if problem == "unknown" else 422, by=by,
                     error=problem)  # fmt: skip
    records: list[ConsentRecord] = []
    for record in iter_records(session, subject_id=subject_id, visitor_id=visitor_id):
        records.append(record)
        if len(records) > PAGE_LIMIT:
            break
    audit_read(
        session, by=by, subject_id=subject_id, count=len(records), export=False,
        actor=staff.actor.label, now=utcnow(),
    )  # fmt: skip
    return _page(
        request, staff, by=by, records=records[:PAGE_LIMIT], subject_id=subject_id,
        visitor_id=visitor_id, more=len(records) > PAGE_LIMIT,
    )  # fmt: skip


def _export(
    session: SessionDep, staff: StaffContext, by: str, subject_id: str | None,
    visitor_id: str | None,
) -> Response:  # fmt: skip
    rows = [r.row() for r in iter_records(session, subject_id=subject_id, visitor_id=visitor_id)]
    audit_read(
        session, by=by, subject_id=subject_id, count=len(rows), export=True,
        actor=staff.actor.label, now=utcnow(),
    )  # fmt: skip
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return csv_download(csv_text(COLUMNS, rows), f"consent-records-{stamp}.csv")


@router.get("/consents.csv")
def export_all(session: SessionDep, staff: Dpo) -> Response:
    """The whole consent ledger as CSV, oldest first, with wording texts; audited."""
    return _export(session, staff, "all", None, None)


@router.post("/consents.csv")
def export_found(
    session: SessionDep,
    keyring: KeyringDep,
    staff: Dpo,
    by: Annotated[str, Form(max_length=10)] = "subject",
    term: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """One subject's or visitor's records as CSV (the search form's export button)."""
    subject_id, visitor_id = _who(session, keyring, staff, by, term)
    return _export(session, staff, by, subject_id, visitor_id)
