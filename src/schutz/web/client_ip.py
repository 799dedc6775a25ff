"""The client's address as Schutz may use it: from a trusted proxy's header, and truncated."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from schutz.analytics.ip import truncate_ip
from schutz.config import Settings

__all__ = ["truncated_client_ip"]


def truncated_client_ip(request: HTTPConnection, settings: Settings) -> str | None:
    """The client's address, truncated; the full one never leaves this function.

    The socket peer is the client unless it is a trusted proxy; then the right-most
    `X-Forwarded-For` entry that is not itself a trusted proxy is (entries further left
    are whatever the client chose to send, RFC 7239 §7.4).
    """
    peer = request.client.host if request.client else None
    trusted = settings.trusted_proxy_set
    if peer in trusted:
        forwarded = request.headers.get("x-forwarded-for", "")
        for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
            if hop not in trusted:
                return truncate_ip(hop)
    return truncate_ip(peer)
