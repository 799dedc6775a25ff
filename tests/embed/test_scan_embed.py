"""`schutz scan` against the static shop: it passes before consent and names the embeds
after accepting (the Schutz instance serving the script is the operator's own host)."""

from __future__ import annotations

import subprocess
import sys
from urllib.parse import urlsplit

from schutz.config import BUNDLED_POLICY_DIR
from schutz.policy.loader import load_policy_set
from schutz.scan.report import Phase, Seen, judge
from static_shop import Pair

POLICY = load_policy_set(BUNDLED_POLICY_DIR).get("2026-11")
HARNESS = (
    "import typer\n"
    "from schutz.cli import scan\n"
    "app = typer.Typer()\n"
    "scan.register(app)\n"
    "app.callback()(lambda: None)\n"
    "app()\n"
)


def test_the_judge_counts_the_schutz_host_as_the_operators_own() -> None:
    seen = [Seen("http://shop.example/", Phase.BEFORE, (),
                 ("https://privacy.shop-cdn.example/sdk/schutz.js",))]  # fmt: skip

    assert [f for f in judge(POLICY, seen) if f.violation]
    assert not [
        f for f in judge(POLICY, seen, frozenset({"privacy.shop-cdn.example"})) if f.violation
    ]


def test_the_judge_names_an_embed_after_accepting() -> None:
    seen = [Seen("http://shop.example/", Phase.AFTER, (),
                 ("https://www.facebook.com/plugins/page.php",
                  "https://platform.twitter.com/embed/Tweet.html"))]  # fmt: skip

    lines = sorted(f.line() for f in judge(POLICY, seen) if f.kind == "embed")

    assert lines == [
        "info: http://shop.example/ (after accepting): embed: facebook: Facebook share button"
        " (Meta Platforms Ireland Limited)",
        "info: http://shop.example/ (after accepting): embed: twitter: X (Twitter) share button"
        " (X Internet Unlimited Company)",
    ]


def test_the_static_shop_passes_the_scan_and_names_its_embeds(server: Pair) -> None:
    schutz_host = urlsplit(server.schutz).hostname or ""
    done = subprocess.run(
        [sys.executable, "-c", HARNESS, "scan", f"{server.shop}/", "--offline",
         "--allow-host", schutz_host],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr

    assert done.returncode == 0, output
    assert "clicked the banner's accept button" in output
    assert "embed: facebook: Facebook share button (Meta Platforms Ireland Limited)" in output
    assert "embed: twitter: X (Twitter) share button (X Internet Unlimited Company)" in output
    assert "ok: no violation" in output
