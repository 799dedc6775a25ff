"""`GET /sdk/schutz.js`: small, dependency-free, cacheable with an ETag."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from schutz.web.routes.embed import SDK
from webapp import sqlite_client

BUDGET = 8 * 1024


def test_the_script_stays_under_eight_kilobytes_gzipped() -> None:
    assert len(gzip.compress(SDK.read_bytes(), compresslevel=9)) < BUDGET


def test_the_script_loads_nothing_from_anywhere_but_its_own_schutz() -> None:
    source = SDK.read_text(encoding="utf-8")
    assert not re.search(r"\bimport\b|require\(", source)
    assert not re.search(r"https?://", source.split("*/", 1)[1])  # no host but `base`


def test_the_script_is_served_with_an_etag_and_revalidated(tmp_path: Path) -> None:
    with sqlite_client(tmp_path) as client:
        first = client.get("/sdk/schutz.js")
        again = client.get("/sdk/schutz.js", headers={"If-None-Match": first.headers["etag"]})

    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/javascript")
    assert "max-age=300" in first.headers["cache-control"]
    assert first.content == SDK.read_bytes()
    assert again.status_code == 304
    assert again.content == b""
