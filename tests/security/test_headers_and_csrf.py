"""Security headers on every answer of every GET route; CSRF on every staff form."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from route_walk import api_routes, concrete, session_cookie

from webapp import TestClient

REQUIRED = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def _get_paths(app: FastAPI) -> list[str]:
    return sorted({concrete(r.path) for r in api_routes(app.routes) if "GET" in r.methods})


def _assert_hardened(path: str, headers: dict[str, str] | object) -> None:
    csp = headers["Content-Security-Policy"]  # type: ignore[index]
    assert "default-src 'self'" in csp, path
    assert "frame-ancestors 'none'" in csp, path
    assert "unsafe-inline" not in csp, path
    assert "unsafe-eval" not in csp, path
    for name, value in REQUIRED.items():
        assert headers[name] == value, (path, name)  # type: ignore[index]


def test_every_get_route_answers_with_the_security_headers(
    app: FastAPI, client: TestClient, staff_cookies: dict[str, str]
) -> None:
    paths = _get_paths(app)
    assert len(paths) > 40  # the walk found the whole app, shop and sandbox included
    no_cookie: dict[str, str] = {}
    for cookies in (no_cookie, session_cookie(staff_cookies["admin"])):
        for path in paths:
            response = client.get(path, headers={"Accept": "text/html", **cookies})
            # The demo shop calls its own API over HTTP; no server listens in this test.
            assert response.status_code < 500 or path.startswith("/shop/"), path
            _assert_hardened(path, response.headers)
            assert "Strict-Transport-Security" not in response.headers, path


def test_static_files_and_unknown_paths_carry_them_too(client: TestClient) -> None:
    for path in ("/static/schutz.css", "/no-such-page", "/api/v1/no-such-thing"):
        _assert_hardened(path, client.get(path).headers)


def test_over_tls_every_get_route_adds_hsts(app: FastAPI) -> None:
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        for path in _get_paths(app):
            hsts = client.get(path).headers.get("Strict-Transport-Security", "")
            assert hsts.startswith("max-age=31536000"), path


def _staff_posts(app: FastAPI) -> list[str]:
    return sorted(
        concrete(r.path)
        for r in api_routes(app.routes)
        if "POST" in r.methods and r.path.startswith("/staff/") and r.path != "/staff/login"
    )


@pytest.mark.parametrize(
    "token", [None, "", "forged-0123456789abcdef0123456789abcdef"], ids=["none", "empty", "forged"]
)
def test_every_staff_form_refuses_a_post_without_its_csrf_token(
    app: FastAPI, client: TestClient, staff_cookies: dict[str, str], token: str | None
) -> None:
    posts = _staff_posts(app)
    assert len(posts) >= 10, posts
    form = {"note": "x"} if token is None else {"csrf_token": token, "note": "x"}
    for role in ("admin", "dpo"):  # dpo-only forms would refuse admin on the role anyway
        cookie = session_cookie(staff_cookies[role])
        for path in posts:
            response = client.post(path, data=form, headers={"Accept": "text/html", **cookie})
            assert response.status_code == 403, (role, path, response.status_code)
            assert "did not come from this site" in response.text, (role, path)
        header_forged = client.post(
            posts[0], data=form, headers={**cookie, "X-CSRF-Token": "forged"}
        )
        assert header_forged.status_code == 403


def test_the_right_csrf_token_gets_past_the_check(
    client: TestClient, staff_cookies: dict[str, str]
) -> None:
    from schutz.web.auth import SESSION_COOKIE

    cookie = session_cookie(staff_cookies["admin"])
    page = client.get("/staff/objections", headers=cookie)
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/staff/logout", data={"csrf_token": token}, headers={"Accept": "text/html", **cookie}
    )
    assert response.status_code == 303
    assert SESSION_COOKIE in response.headers.get("set-cookie", "")
