"""Every /api/v1 route with every API key role and with none; every console page with every
staff role and with none. The tables below are the expectation, written out: a route added
without a row fails `test_the_tables_cover_every_route`.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from route_walk import api_routes, concrete, session_cookie

from schutz.identity.roles import API_KEY_ROLES, STAFF_ROLES
from webapp import TestClient

PUBLIC = "public"
SYSTEM = "system"
FOR_SYSTEMS = frozenset({"dpo", "admin"})
ANY_KEY = frozenset(API_KEY_ROLES)
WRITERS = frozenset({"shop", "support", "dpo", "admin"})
CONSENT_ROLES = frozenset({"shop", "support", "marketing", "dpo", "admin"})
REPORTS = frozenset({"marketing", "dpo", "admin"})

# (method, route template) -> the API key roles allowed, or PUBLIC (no key needed).
API: dict[tuple[str, str], frozenset[str] | str] = {
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    ("GET", "/api/v1/policy"): PUBLIC,
    ("GET", "/api/v1/policy/versions"): PUBLIC,
    ("POST", "/api/v1/collect"): PUBLIC,
    # Public, but only from a declared site's origin (CORS; tests/embed).
    ("POST", "/api/v1/visitor-consents"): PUBLIC,
    ("GET", "/api/v1/sites/{site}/registry"): PUBLIC,
    ("POST", "/api/v1/subjects"): ANY_KEY,
    ("POST", "/api/v1/subjects/lookup"): ANY_KEY,
    ("GET", "/api/v1/subjects/{subject_id}"): ANY_KEY,
    ("PATCH", "/api/v1/subjects/{subject_id}"): frozenset({"support", "dpo", "admin"}),
    ("GET", "/api/v1/subjects/{subject_id}/consents"): CONSENT_ROLES,
    ("POST", "/api/v1/consents"): CONSENT_ROLES,
    ("POST", "/api/v1/orders"): frozenset({"shop", "admin"}),
    ("GET", "/api/v1/orders/{order_ref}/disclosures"): frozenset(
        {"shop", "fulfilment", "support", "dpo", "admin"}
    ),
    ("GET", "/api/v1/audiences/{purpose}"): frozenset({"marketing"}),
    ("POST", "/api/v1/newsletter/issues"): frozenset({"marketing"}),
    ("POST", "/api/v1/requests"): WRITERS,
    ("GET", "/api/v1/requests/{request_id}"): WRITERS,
    ("POST", "/api/v1/requests/{request_id}/approve"): frozenset({"dpo"}),
    # Also open to the subject through the signed link in the mail (tested elsewhere).
    ("GET", "/api/v1/requests/{request_id}/export"): frozenset({"dpo"}),
    ("GET", "/api/v1/analytics/summary"): REPORTS,
    ("GET", "/api/v1/requests"): WRITERS,
    ("POST", "/api/v1/subjects/{subject_id}/events"): frozenset({"shop", "support"}),
    # The operator's systems answer with a token bound to one request and one system; of
    # the API keys only dpo and admin may answer for one. Any other caller gets the same
    # 401 as a stranger, before anything is looked up (tests/systems).
    ("POST", "/api/v1/requests/{request_id}/systems/{system}"): SYSTEM,
    ("POST", "/api/v1/requests/{request_id}/systems/{system}/data"): SYSTEM,
}

EVERY_STAFF = frozenset(STAFF_ROLES)
HANDLERS = frozenset({"support", "dpo", "admin"})
RECORDS = frozenset({"dpo", "admin"})

# console GET page -> the staff roles allowed; /staff/login is for everyone.
STAFF: dict[str, frozenset[str] | str] = {
    "/staff/login": PUBLIC,
    "/staff/": EVERY_STAFF,
    "/staff/audit": RECORDS,
    "/staff/objections": HANDLERS,
    "/staff/mail": HANDLERS,
    "/staff/mail/{mail_id}": HANDLERS,
    "/staff/requests": HANDLERS,
    "/staff/requests.csv": HANDLERS,
    "/staff/requests/new": HANDLERS,
    "/staff/requests/{request_id}": HANDLERS,
    "/staff/records": RECORDS,
    "/staff/records.csv": RECORDS,
    "/staff/ropa": RECORDS,
    "/staff/disclosures": frozenset({"fulfilment", "dpo", "admin"}),
    "/staff/analytics": REPORTS,
    "/staff/analytics/sites.csv": REPORTS,
    "/staff/consents": RECORDS,
    "/staff/consents.csv": RECORDS,
    "/staff/breaches": RECORDS,
    "/staff/breaches/{breach_id}": RECORDS,
}

BODY = {"probe": True}  # valid JSON, wrong shape: an allowed role gets 4xx from validation


def test_the_tables_cover_every_route(app: FastAPI) -> None:
    routes = list(api_routes(app.routes))
    api = {(m, r.path) for r in routes if r.path.startswith("/api/v1/") for m in r.methods}
    api.add(("GET", "/api/v1/openapi.json"))
    api.discard(("HEAD", "/api/v1/openapi.json"))
    staff = {r.path for r in routes if r.path.startswith("/staff/") and "GET" in r.methods}
    assert api == set(API)
    assert staff == set(STAFF)


def _call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> int:
    url = concrete(path)
    if path.endswith("/analytics/summary"):
        url += "?days=7"
    elif path == "/api/v1/subjects/{subject_id}":
        url += "?purpose=order_processing"
    json = BODY if method in ("POST", "PATCH") else None
    response = client.request(method, url, json=json, headers=headers)
    assert response.status_code < 500, (method, path, response.status_code)
    if response.status_code == 403 and path.startswith("/api/"):
        return 4031 if response.json().get("reason") == "role" else 403
    return response.status_code


@pytest.mark.parametrize(("method", "path"), sorted(API))
def test_every_api_route_with_every_role_and_none(
    client: TestClient, api_keys: dict[str, str], method: str, path: str
) -> None:
    allowed = API[(method, path)]
    anonymous = _call(client, method, path, {})
    if allowed == SYSTEM:
        assert anonymous == 401
        for role in API_KEY_ROLES:
            got = _call(client, method, path, {"Authorization": f"Bearer {api_keys[role]}"})
            assert (got not in (401, 4031)) if role in FOR_SYSTEMS else got == 401, (role, got)
        return
    if allowed == PUBLIC:
        assert anonymous not in (401, 403, 4031), anonymous
    else:
        assert anonymous == 401
    for role in API_KEY_ROLES:
        got = _call(client, method, path, {"Authorization": f"Bearer {api_keys[role]}"})
        if allowed == PUBLIC or role in allowed:
            assert got not in (401, 4031), (role, got)
        else:
            assert got == 4031, (role, got)  # 403 with reason "role"
    assert _call(client, method, path, {"Authorization": "Bearer schutz_wrong"}) == (
        401 if allowed != PUBLIC else anonymous
    )


@pytest.mark.parametrize("path", sorted(STAFF))
def test_every_console_page_with_every_role_and_none(
    client: TestClient, staff_cookies: dict[str, str], path: str
) -> None:
    allowed = STAFF[path]
    url = concrete(path) + ("?site=shop" if path.endswith("sites.csv") else "")
    anonymous = client.get(url, headers={"Accept": "text/html"})
    assert anonymous.status_code < 500
    if allowed == PUBLIC:
        assert anonymous.status_code == 200
    else:
        assert anonymous.status_code == 303
        assert anonymous.headers["location"].startswith("/staff/login")
    for role in STAFF_ROLES:
        response = client.get(
            url, headers={"Accept": "text/html", **session_cookie(staff_cookies[role])}
        )
        code = response.status_code
        if allowed == PUBLIC:
            assert code == 303, (role, code)  # signed in already: on to the console
        elif role in allowed:
            # A made-up id (or a site the app does not declare) is 404 to those who may look;
            # /staff/ropa redirects to the records.
            made_up = "{" in path or path.endswith("sites.csv")
            expected = 404 if made_up else 303 if path == "/staff/ropa" else 200
            assert code == expected, (role, code)
        else:
            assert code == 403, (role, code)
