"""Site-wide endpoints: the front door, the GPC statement and the API reference page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from schutz.web.api_summaries import SUMMARIES
from schutz.web.routes.meta import list_operations
from webapp import TestClient, sqlite_client


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with sqlite_client(tmp_path, follow_redirects=False) as test_client:
        yield test_client


def test_root_redirects_to_the_privacy_policy(client: TestClient) -> None:
    response = client.get("/")

    assert response.status_code == 303
    assert response.headers["location"] == "/privacy"


def test_root_keeps_a_chosen_language(client: TestClient) -> None:
    assert client.get("/?lang=de").headers["location"] == "/privacy?lang=de"


def test_gpc_statement_is_dated_by_the_policy_in_force(client: TestClient) -> None:
    response = client.get("/.well-known/gpc.json")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"gpc": True, "lastUpdate": "2026-11-01"}


def test_api_docs_list_every_operation_of_the_openapi_document(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    page = client.get("/api/docs", headers={"Accept": "text/html"})

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'href="/api/v1/openapi.json"' in page.text
    for path, item in schema["paths"].items():
        for method in item:
            assert re.search(
                rf"{method.upper()}</span></td>\s*<td><code>{re.escape(path)}</code>", page.text
            ), f"{method.upper()} {path} missing"


def test_api_docs_load_nothing_from_a_cdn(client: TestClient) -> None:
    page = client.get("/api/docs").text

    assert re.findall(r"<script(?![^>]*\bsrc=\"/static/)", page) == []
    assert "swagger" not in page.lower()
    assert not re.search(r"(src|href)=\"(https?:)?//", page)


def test_list_operations_sorts_by_tag_path_and_method() -> None:
    schema = {
        "paths": {
            "/b": {"post": {"summary": "make b", "tags": ["x"], "security": [{"k": []}]}},
            "/a": {
                "post": {"summary": "make a", "tags": ["x"]},
                "get": {"operationId": "read_a", "tags": ["x"]},
            },
            "/z": {"get": {"summary": "zed"}},
        }
    }

    ops = list_operations(schema)

    assert [(o.tag, o.method, o.path) for o in ops] == [
        ("other", "GET", "/z"),
        ("x", "GET", "/a"),
        ("x", "POST", "/a"),
        ("x", "POST", "/b"),
    ]
    assert ops[1].summary == "read_a"
    assert ops[3].public is False
    assert ops[2].public is True


def test_every_api_operation_has_a_written_summary(client: TestClient) -> None:
    """Issue 17, defect 9: /api/docs listed "Get Audience", "Readyz", made from names."""
    schema = client.get("/api/v1/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert (method.upper(), path) in SUMMARIES, f"{method.upper()} {path} has no summary"
            assert operation["summary"] == SUMMARIES[(method.upper(), path)]
    docs = client.get("/api/docs").text
    assert "Get Audience" not in docs
    assert "Everyone who may be contacted for a purpose now" in docs
