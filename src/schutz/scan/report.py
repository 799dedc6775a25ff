"""Comparing what a browser saw with the policy: undeclared cookies, cookies before consent,
requests to other hosts before consent (TDDDG §25; clauses C17, C20-C22). Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

from schutz.cookies.registry import registry_for
from schutz.policy.schema import Policy


class Phase(StrEnum):
    BEFORE = "before consent"
    AFTER = "after accepting"


@dataclass(frozen=True)
class Seen:
    """What one page did in one phase: cookies by name and the URLs it requested."""

    url: str
    phase: Phase
    cookies: tuple[str, ...]
    requests: tuple[str, ...]


@dataclass(frozen=True)
class Finding:
    url: str
    phase: Phase
    kind: str
    detail: str
    violation: bool

    def line(self) -> str:
        mark = "VIOLATION" if self.violation else "info"
        return f"{mark}: {self.url} ({self.phase.value}): {self.kind}: {self.detail}"


@dataclass
class ScanReport:
    findings: list[Finding] = field(default_factory=list)
    accepted: dict[str, bool] = field(default_factory=dict)

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.violation]


def _foreign(request_url: str, page_url: str) -> str | None:
    host = urlsplit(request_url).hostname
    own = urlsplit(page_url).hostname
    if not host or urlsplit(request_url).scheme not in ("http", "https", "ws", "wss"):
        return None
    if host == own or (own and host.endswith("." + own)):
        return None
    return host


def judge(policy: Policy, seen: list[Seen]) -> list[Finding]:
    """Every cookie and foreign request in `seen`, marked as a violation where it is one."""
    registry = registry_for(policy)
    findings = []
    for page in seen:
        before = page.phase is Phase.BEFORE
        for name in sorted(set(page.cookies)):
            cookie = registry.get(name)
            if cookie is None:
                findings.append(
                    Finding(page.url, page.phase, "undeclared cookie", name, violation=True)
                )
            elif before and not registry.is_essential(name):
                detail = f"{name} ({cookie.category.value})"
                findings.append(
                    Finding(page.url, page.phase, "cookie set before consent", detail, True)
                )
            else:
                detail = f"{name} ({cookie.category.value}, {cookie.duration})"
                findings.append(Finding(page.url, page.phase, "cookie", detail, violation=False))
        hosts: dict[str, str] = {}
        for url in page.requests:
            host = _foreign(url, page.url)
            if host is not None:
                hosts.setdefault(host, url)
        for host, url in sorted(hosts.items()):
            kind = "third-party request before consent" if before else "third-party request"
            findings.append(Finding(page.url, page.phase, kind, f"{host} ({url})", before))
    return findings
