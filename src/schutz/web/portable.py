"""The answer to a portability request (Art. 20 GDPR): a page with the data the subject
gave us, and the same as a JSON file and a CSV file to take to another controller.

Reached through the export link of the verify-by-link flow, exactly like the access copy;
`requests_pages.export` hands a portability request's link here.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from schutz.clock import utcnow
from schutz.subject_requests.portability import (
    CSV_COLUMNS,
    build_portable,
    csv_rows,
    portable_request,
)
from schutz.web.deps import Desk
from schutz.web.spreadsheet import csv_download, csv_text
from schutz.web.templating import render

NO_STORE = {"Cache-Control": "no-store"}


def portable_answer(request: Request, desk: Desk, request_id: str, token: str) -> Response:
    """The page, `.json` or `.csv` for the portability request `request_id`; audited."""
    found = portable_request(desk.session, request_id)
    package = build_portable(
        desk.session, desk.rules.policy, desk.keyring, found, actor="subject", now=utcnow()
    )
    name = f"personal-data-{found.id}"
    path = request.url.path
    if path.endswith(".json"):
        headers = {**NO_STORE, "Content-Disposition": f'attachment; filename="{name}.json"'}
        return JSONResponse(package, headers=headers)
    if path.endswith(".csv"):
        return csv_download(csv_text(CSV_COLUMNS, csv_rows(package)), f"{name}.csv")
    query = f"token={quote(token)}&lang={desk.lang}"
    response: HTMLResponse = render(
        request,
        "requests/portable.html",
        {
            "p": package,
            "policy": desk.rules.policy,
            "json_url": f"/requests/export.json?{query}",
            "csv_url": f"/requests/export.csv?{query}",
        },
    )
    response.headers.update(NO_STORE)
    return response
