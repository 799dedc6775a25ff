"""Bad input and too much of it: body size, content type, UTF-8, nesting, rate limits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from schutz.clock import utcnow
from schutz.config import Settings
from schutz.identity.service import create_api_key
from schutz.web.app import create_app
from schutz.web.limits import MAX_JSON_DEPTH, Rate, TokenBuckets, json_depth
from webapp import TestClient


def build(settings: Settings, **update: object) -> FastAPI:
    return create_app(settings.model_copy(update=update))


@pytest.fixture
def follow_redirects() -> bool:
    return False


@pytest.fixture
def shop(session: Session) -> dict[str, str]:
    _, key = create_api_key(session, name="shop", role="shop", actor="cli", now=utcnow())
    session.commit()
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}


INTAKE = b'{"source": "order", "purposes": ["order_processing"], "data": {"name": "Ada"}}'


def test_a_valid_intake_still_passes_the_checks(client: TestClient, shop: dict[str, str]) -> None:
    assert client.post("/api/v1/subjects", content=INTAKE, headers=shop).status_code == 201


# --- size ------------------------------------------------------------------------------------


def test_a_body_over_one_mebibyte_is_413_json(client: TestClient, shop: dict[str, str]) -> None:
    body = b'{"source": "' + b"x" * (1024 * 1024) + b'"}'
    response = client.post("/api/v1/subjects", content=body, headers=shop)
    assert response.status_code == 413
    assert response.json() == {"detail": "the request body is larger than 1048576 bytes"}


def test_a_chunked_body_without_length_is_counted_too(
    client: TestClient, shop: dict[str, str]
) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b" " * 65536

    response = client.post("/api/v1/subjects", content=chunks(), headers=shop)
    assert response.status_code == 413


def test_the_limit_is_a_setting_and_forms_get_a_page(settings: Settings) -> None:
    app = build(settings, max_body_bytes=2000)
    with TestClient(app) as client:
        small = client.post("/contact", data={"message": "x" * 100})
        large = client.post(
            "/contact", data={"message": "x" * 5000}, headers={"Accept": "text/html"}
        )
    app.state.engine.dispose()
    assert small.status_code != 413
    assert large.status_code == 413
    assert large.headers["content-type"].startswith("text/html")
    assert "larger than 2000 bytes" in large.text
    assert large.headers["X-Content-Type-Options"] == "nosniff"  # refusals carry headers too


# --- content type, encoding, nesting ---------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_an_api_write_that_is_not_json_is_415(
    client: TestClient, shop: dict[str, str], content_type: str
) -> None:
    headers = {**shop, "Content-Type": content_type}
    response = client.post("/api/v1/subjects", content=INTAKE, headers=headers)
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]


def test_a_body_less_api_post_needs_no_content_type(
    client: TestClient, shop: dict[str, str]
) -> None:
    headers = {"Authorization": shop["Authorization"]}
    response = client.post("/api/v1/requests/unknown/approve", headers=headers)
    assert response.status_code == 403  # the role check, not a content-type refusal


def test_the_beacon_takes_what_a_browser_sends(client: TestClient) -> None:
    response = client.post(
        "/api/v1/collect", content=b'{"path": "/"}', headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 204


def test_json_that_is_not_utf8_is_422_with_a_reason(
    client: TestClient, shop: dict[str, str]
) -> None:
    body = b'{"source": "order", "purposes": ["order_processing"], "data": {"name": "\xff\xfe"}}'
    response = client.post("/api/v1/subjects", content=body, headers=shop)
    assert response.status_code == 422
    assert "not valid UTF-8" in response.json()["detail"]


@pytest.mark.parametrize("opening", [b"[", b'{"a":'])
def test_deeply_nested_json_is_422_not_a_recursion_error(
    client: TestClient, shop: dict[str, str], opening: bytes
) -> None:
    closing = b"]" if opening == b"[" else b"}"
    body = opening * 100_000 + b"1" + closing * 100_000
    response = client.post("/api/v1/subjects", content=body, headers=shop)
    assert response.status_code == 422
    assert response.json() == {"detail": f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels"}


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (b"1", 0),
        (b"[]", 1),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'{"a": "[[[[{{{{"}', 1),  # brackets inside strings do not count
        (b'{"a": "\\"[[[", "b": "\\\\"}', 1),  # nor after an escaped quote
        (b'["\\\\", [[]]]', 3),  # an escaped backslash ends its escape
    ],
)
def test_json_depth_counts_only_structure(body: bytes, depth: int) -> None:
    assert json_depth(body) == depth


# --- rate limits -----------------------------------------------------------------------------

LIMITED = [
    ("/staff/login", "rate_limit_staff_login", {"email": "a@b.example", "password": "x"}),
    ("/account/login", "rate_limit_magic_link", {"email": "a@b.example"}),
    ("/contact", "rate_limit_contact", {"message": "hello"}),
    ("/newsletter", "rate_limit_newsletter", {"email": "a@b.example"}),
    ("/requests/new", "rate_limit_requests", {"kind": "access", "email": "a@b.example"}),
]


def _limited_app(settings: Settings, setting: str, rate: str = "3/600") -> FastAPI:
    # The test client's peer counts as a proxy, so X-Forwarded-For names the client.
    return build(settings, **{setting: rate, "trusted_proxies": "testclient"})


@pytest.mark.parametrize(("path", "setting", "form"), LIMITED)
def test_public_forms_and_sign_in_are_rate_limited_per_network(
    settings: Settings, path: str, setting: str, form: dict[str, str]
) -> None:
    app = _limited_app(settings, setting)
    page = {"Accept": "text/html", "X-Forwarded-For": "203.0.113.10"}
    neighbour = {**page, "X-Forwarded-For": "203.0.113.99"}  # same /24: same bucket
    elsewhere = {**page, "X-Forwarded-For": "198.51.100.7"}
    with TestClient(app, follow_redirects=False) as client:
        answers = [client.post(path, data=form, headers=page).status_code for _ in range(3)]
        refused = client.post(path, data=form, headers=neighbour)
        other = client.post(path, data=form, headers=elsewhere)
    app.state.engine.dispose()
    assert 429 not in answers
    assert all(code < 500 for code in answers)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 200
    assert refused.headers["content-type"].startswith("text/html")
    assert "too many requests" in refused.text
    assert other.status_code != 429


def test_the_beacon_is_rate_limited_with_a_json_answer(settings: Settings) -> None:
    app = _limited_app(settings, "rate_limit_collect", "2/60")
    headers = {"X-Forwarded-For": "203.0.113.10"}
    with TestClient(app) as client:
        codes = [
            client.post("/api/v1/collect", json={"path": "/"}, headers=headers).status_code
            for _ in range(3)
        ]
        last = client.post("/api/v1/collect", json={"path": "/"}, headers=headers)
    app.state.engine.dispose()
    assert codes == [204, 204, 429]
    assert last.status_code == 429
    assert last.json()["detail"].startswith("too many requests")
    assert int(last.headers["Retry-After"]) == 30


def test_a_limit_can_be_lifted(settings: Settings) -> None:
    app = _limited_app(settings, "rate_limit_collect", "off")
    with TestClient(app) as client:
        codes = {client.post("/api/v1/collect", json={}).status_code for _ in range(50)}
    app.state.engine.dispose()
    assert codes == {204}


def test_other_routes_are_not_limited(settings: Settings) -> None:
    app = _limited_app(settings, "rate_limit_contact", "1/600")
    with TestClient(app) as client:
        codes = {client.get("/contact").status_code for _ in range(5)}
    app.state.engine.dispose()
    assert codes == {200}


def test_a_bucket_refills_evenly() -> None:
    now = [0.0]
    buckets = TokenBuckets(Rate(2, 10.0), clock=lambda: now[0])
    assert [buckets.take("net"), buckets.take("net")] == [0.0, 0.0]
    assert buckets.take("net") == pytest.approx(5.0)
    assert buckets.take("other") == 0.0
    now[0] = 5.0
    assert buckets.take("net") == 0.0
    assert buckets.take("net") == pytest.approx(5.0)


def test_a_full_table_forgets_buckets_that_refilled() -> None:
    now = [0.0]
    buckets = TokenBuckets(Rate(1, 1.0), clock=lambda: now[0], max_keys=3)
    for key in ("a", "b", "c"):
        buckets.take(key)
    now[0] = 10.0
    assert buckets.take("d") == 0.0
    assert buckets.take("a") == 0.0  # forgotten, so full again


@pytest.mark.parametrize(
    ("text", "rate"),
    [("30/600", Rate(30, 600.0)), ("5", Rate(5, 1.0)), ("off", None), ("0", None)],
)
def test_rates_read_n_per_seconds(text: str, rate: Rate | None) -> None:
    assert Rate.parse(text) == rate


@pytest.mark.parametrize("text", ["x/10", "3/0", "-1/10", "3/abc"])
def test_a_bad_rate_is_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        Rate.parse(text)
