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


def _foreign(request_url: str, page_url: str, allowed: frozenset[str] = frozenset()) -> str | None:
    host = urlsplit(request_url).hostname
    own = urlsplit(page_url).hostname
    if not host or urlsplit(request_url).scheme not in ("http", "https", "ws", "wss"):
        return None
    if host == own or (own and host.endswith("." + own)) or host in allowed:
        return None
    return host


def _domain(url: str) -> str:
    """The last two labels of a URL's host (`www.facebook.com` → `facebook.com`)."""
    return ".".join((urlsplit(url).hostname or "").split(".")[-2:])


# Domains the well-known embeds load from, besides the one of their privacy policy.
KNOWN_DOMAINS = {
    "facebook": ("facebook.com", "facebook.net", "fbcdn.net"),
    "twitter": ("twitter.com", "x.com", "twimg.com"),
    "youtube": ("youtube.com", "youtube-nocookie.com", "ytimg.com", "googlevideo.com"),
}


def embed_of(policy: Policy, host: str) -> str | None:
    """`facebook: Facebook share button (Meta Platforms Ireland Limited)` when `host` belongs
    to an embed of the policy: the domain of its privacy policy's address, or one the
    provider is known to serve embeds from."""
    for key, embed in policy.embeds.items():
        domains = {_domain(embed.privacy_policy_url), *KNOWN_DOMAINS.get(key, ())} - {""}
        if any(host == d or host.endswith("." + d) for d in domains):
            return f"{key}: {embed.name.en} ({embed.provider.name})"
    return None


def judge(
    policy: Policy, seen: list[Seen], allowed_hosts: frozenset[str] = frozenset()
) -> list[Finding]:
    """Every cookie and foreign request in `seen`, marked as a violation where it is one.

    `allowed_hosts` are the operator's own (the Schutz instance serving the embeddable
    script): requests to them are first-party. After accepting, a request to an embed's
    provider is named as that embed.
    """
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
                detail = f"{name} ({cookie.category})"
                findings.append(
                    Finding(page.url, page.phase, "cookie set before consent", detail, True)
                )
            else:
                detail = f"{name} ({cookie.category}, {cookie.duration})"
                findings.append(Finding(page.url, page.phase, "cookie", detail, violation=False))
        hosts: dict[str, str] = {}
        for url in page.requests:
            host = _foreign(url, page.url, allowed_hosts)
            if host is not None:
                hosts.setdefault(host, url)
        for host, url in sorted(hosts.items()):
            kind = "third-party request before consent" if before else "third-party request"
            findings.append(Finding(page.url, page.phase, kind, f"{host} ({url})", before))
            embed = embed_of(policy, host)
            if embed is not None and not before:
                findings.append(Finding(page.url, page.phase, "embed", embed, violation=False))
    return findings
