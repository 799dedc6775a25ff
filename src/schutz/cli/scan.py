"""`schutz scan URL...`: what pages do to a first-time visitor, held against the policy.

Loads each page in headless Chromium with a fresh profile, records every cookie and every
request to another host, clicks the banner's accept button if there is one, and looks
again. Exit 1 on any violation (an undeclared cookie, a non-essential cookie or a
third-party request before consent), so operators can run it in CI.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from schutz.cli.context import state
from schutz.clock import utcnow
from schutz.policy.loader import load_policy_set
from schutz.scan.report import judge

DEFAULT_CHROMIUM = Path(os.environ.get("SCHUTZ_CHROMIUM", "/usr/bin/chromium"))


def scan(
    ctx: typer.Context,
    urls: Annotated[list[str], typer.Argument(help="Pages to load, e.g. https://shop.example/")],
    policy_file: Annotated[
        Path | None,
        typer.Option("--policy", help="Policy file or directory (default: SCHUTZ_POLICY)."),
    ] = None,
    chromium: Annotated[Path, typer.Option(help="The Chromium binary.")] = DEFAULT_CHROMIUM,
    offline: Annotated[
        bool, typer.Option(help="Resolve no host but the scanned ones (foreign requests fail).")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also list what is fine.")
    ] = False,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            help="A host of your own, e.g. the Schutz serving /sdk/schutz.js (repeatable)."
        ),
    ] = None,
) -> None:
    """Load pages as a first-time visitor, before and after accepting; report violations."""
    for url in urls:
        if not url.startswith(("http://", "https://")):
            typer.echo(f"error: {url!r} is not an http(s) URL", err=True)
            raise typer.Exit(2)
    if not chromium.exists():
        typer.echo(f"error: Chromium not found at {chromium}; pass --chromium PATH", err=True)
        raise typer.Exit(2)
    try:
        from schutz.scan.browser import observe  # Playwright is an optional extra: import late.
    except ImportError:
        typer.echo("error: schutz scan needs Playwright: pip install 'schutz[scan]'", err=True)
        raise typer.Exit(2) from None
    allowed = frozenset(h.strip().lower() for h in allow_host or () if h.strip())
    source = policy_file or state(ctx).settings.policy
    policy = load_policy_set(source).in_force(utcnow().date())
    try:
        seen, accepted = observe(urls, chromium=chromium, offline=offline, allowed_hosts=allowed)
    except OSError as exc:
        typer.echo(f"error: could not load {exc}", err=True)
        raise typer.Exit(2) from None
    findings = judge(policy, seen, allowed)
    for url, clicked in accepted.items():
        note = "clicked the banner's accept button" if clicked else "found no accept button"
        typer.echo(f"{url}: {note}")
    for finding in findings:
        if finding.violation or verbose or finding.kind == "embed":
            typer.echo(finding.line())
    bad = [f for f in findings if f.violation]
    typer.echo(
        f"{len(bad)} violation(s) against policy {policy.version} on {len(urls)} page(s)"
        if bad
        else f"ok: no violation against policy {policy.version} on {len(urls)} page(s)"
    )
    if bad:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("scan")(scan)
