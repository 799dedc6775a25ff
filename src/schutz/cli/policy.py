"""`schutz policy`: check, show, render and compare policy versions; records of processing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from schutz.clock import utcnow
from schutz.config import Settings
from schutz.errors import NotFound
from schutz.policy.diff import diff_policies, format_diff
from schutz.policy.loader import (
    PolicyError,
    PolicySet,
    load_policy,
    load_policy_set,
    policy_files,
)
from schutz.policy.render import describe_duration, render_markdown
from schutz.policy.ropa import render_ropa_markdown
from schutz.policy.schema import Policy

app = typer.Typer(
    help="Validate, show, render and compare the privacy policy.",
    no_args_is_help=True,
    add_completion=False,
)

Lang = Annotated[str, typer.Option("--lang", help="Language: en or de.")]
Version = Annotated[
    str | None, typer.Option("--version", help="A version (default: the one in force).")
]


def policy_path(ctx: typer.Context) -> Path:
    """The configured policy location: the top-level callback's settings, else the env."""
    settings = getattr(ctx.find_root().obj, "settings", None)
    if isinstance(settings, Settings):
        return settings.policy
    return Settings().policy


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code=1)


def _load_set(ctx: typer.Context) -> PolicySet:
    try:
        return load_policy_set(policy_path(ctx))
    except PolicyError as exc:
        raise _fail(str(exc)) from None


def _pick(policies: PolicySet, version: str | None) -> Policy:
    try:
        if version is None:
            return policies.in_force(utcnow().date())
        return policies.get(version)
    except NotFound as exc:
        raise _fail(f"error: {exc}") from None


def _check_lang(lang: str) -> str:
    if lang not in ("en", "de"):
        raise _fail(f"error: --lang must be en or de, not {lang!r}")
    return lang


@app.command()
def check(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Argument(help="A policy file or directory (default: configured).")
    ] = None,
) -> None:
    """Validate policy files; print `file:line: rule` and exit 1 on the first broken rule."""
    target = file if file is not None else policy_path(ctx)
    try:
        if target.is_dir():
            load_policy_set(target)  # also checks versions are unique across files
        for path in policy_files(target):
            policy = load_policy(path)
            typer.echo(f"ok: {path}: version {policy.version}, {len(policy.purposes)} purposes")
    except PolicyError as exc:
        raise _fail(str(exc)) from None


@app.command()
def show(ctx: typer.Context, version: Version = None, lang: Lang = "en") -> None:
    """Summarise a policy version: purposes, recipients, cookies."""
    lang = _check_lang(lang)
    policies = _load_set(ctx)
    policy = _pick(policies, version)
    console = Console()
    console.print(
        f"[bold]{policy.controller.name}[/bold] privacy policy, version {policy.version},"
        f" effective {policy.effective_date.isoformat()}"
        f" ({len(policies)} version(s) known)"
    )
    purposes = Table("purpose", "legal basis", "roles", "consent", "objectable", "retention")
    for key, p in policy.purposes.items():
        purposes.add_row(
            key + (" (C9 exception)" if p.exception else ""),
            p.legal_basis.citation(lang),
            ", ".join(r.value for r in p.roles),
            "yes" if p.requires_consent else "",
            "yes" if p.objectable else "",
            describe_duration(p.retention.period, lang)
            if p.retention.period
            else p.retention.start,
        )
    console.print(purposes)
    recipients = Table("recipient", "purposes", "payload")
    for key, r in policy.recipients.items():
        recipients.add_row(key, ", ".join(r.purposes), ", ".join(r.payload))
    console.print(recipients)
    cookies = Table("cookie", "category", "provider", "duration")
    for c in policy.cookies:
        cookies.add_row(c.name, c.category, c.provider, describe_duration(c.duration, lang))
    console.print(cookies)


@app.command()
def render(ctx: typer.Context, version: Version = None, lang: Lang = "en") -> None:
    """Print a policy version as Markdown."""
    lang = _check_lang(lang)
    typer.echo(render_markdown(_pick(_load_set(ctx), version), lang), nl=False)


@app.command()
def ropa(ctx: typer.Context, version: Version = None, lang: Lang = "en") -> None:
    """Print the records of processing activities (Art. 30 GDPR) as Markdown."""
    lang = _check_lang(lang)
    typer.echo(render_ropa_markdown(_pick(_load_set(ctx), version), lang), nl=False)


@app.command()
def diff(
    ctx: typer.Context,
    old: Annotated[str, typer.Argument(help="A version or a policy file.")],
    new: Annotated[str, typer.Argument(help="A version or a policy file.")],
    lang: Lang = "en",
) -> None:
    """Show what changed from OLD to NEW."""
    lang = _check_lang(lang)
    before, after = _resolve(ctx, old), _resolve(ctx, new)
    typer.echo(format_diff(diff_policies(before, after), lang))


def _resolve(ctx: typer.Context, spec: str) -> Policy:
    """`spec` names a policy file if one exists at that path, else a configured version."""
    path = Path(spec)
    try:
        if path.is_file():
            return load_policy(path)
        return _load_set(ctx).get(spec)
    except PolicyError as exc:
        raise _fail(str(exc)) from None
    except NotFound as exc:
        raise _fail(f"error: {exc}") from None
