"""Public pages answered from memory: revalidated by ETag, never one visitor's page for another."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from schutz.web.security import CSP
from webapp import TestClient, consent_cookie, sqlite_client

TRACKING = "track.js"
BANNER = 'class="cookie-banner"'


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with sqlite_client(tmp_path) as test_client:
        yield test_client


def _get(client: TestClient, path: str, **headers: str) -> tuple[int, str, dict[str, str]]:
    client.cookies.clear()
    answer = client.get(path, headers=headers)
    return answer.status_code, answer.text, dict(answer.headers)


@pytest.mark.parametrize("path", ["/privacy", "/cookies", "/privacy/versions", "/privacy/changes"])
def test_a_page_seen_before_is_answered_304_with_every_security_header(
    client: TestClient, path: str
) -> None:
    status, body, headers = _get(client, path)
    assert status == 200
    assert headers["cache-control"] == "no-cache"
    assert "Cookie" in headers["vary"]
    again, empty, revalidated = _get(client, path, **{"If-None-Match": headers["etag"]})
    assert (again, empty) == (304, "")
    assert revalidated["etag"] == headers["etag"]
    assert revalidated["content-security-policy"] == CSP
    assert revalidated["x-frame-options"] == "DENY"
    assert _get(client, path, **{"If-None-Match": '"stale"'})[1] == body


def test_one_visitors_cookie_choices_never_reach_another_visitor(client: TestClient) -> None:
    agreed = f"schutz_consent={consent_cookie(analytics=True, embeds=False)}"
    refused = f"schutz_consent={consent_cookie(analytics=False, embeds=False)}"
    for _ in range(2):  # the second round is answered from the cache
        _, first_visit, _ = _get(client, "/privacy")
        _, with_consent, _ = _get(client, "/privacy", Cookie=agreed)
        _, without, _ = _get(client, "/privacy", Cookie=refused)
        assert BANNER in first_visit
        assert TRACKING not in first_visit
        assert TRACKING in with_consent
        assert BANNER not in with_consent
        assert TRACKING not in without
        assert BANNER not in without


def test_the_cookie_page_shows_each_visitor_their_own_choices(client: TestClient) -> None:
    agreed = f"schutz_consent={consent_cookie(analytics=True, embeds=False)}"
    for _ in range(2):
        _, fresh, _ = _get(client, "/cookies")
        _, chosen, _ = _get(client, "/cookies", Cookie=agreed)
        assert fresh.count("checked") < chosen.count("checked")


def test_the_language_picks_the_cached_page(client: TestClient) -> None:
    for _ in range(2):
        _, german, headers = _get(client, "/privacy", **{"Accept-Language": "de-DE,de;q=0.9"})
        _, english, _ = _get(client, "/privacy")
        assert headers["content-language"] == "de"
        assert '<html lang="de"' in german
        assert '<html lang="en"' in english


def test_long_query_strings_cannot_push_the_real_pages_out(client: TestClient) -> None:
    cache = client.app.state.page_cache  # type: ignore[attr-defined]
    assert _get(client, "/privacy")[0] == 200
    kept = len(cache)
    for n in range(20):
        status, body, _ = _get(client, f"/privacy?x{n}={'a' * 4000}")
        assert status == 200
        assert "<html" in body.lower()
    assert len(cache) == kept
