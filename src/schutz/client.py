"""`schutz.client`: a typed client for Schutz's HTTP API, for the operator's own systems.

Needs `httpx` (`pip install schutz[client]`). It covers what a shop integration does: send
customers and orders in, file and list data-subject requests, answer a request event for a
system, and check the signature on an incoming event. Nothing else of Schutz is imported but
the standard-library signature checks, so a system may vendor this file with `verify.py`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from schutz.disclosures.verify import (
    DEFAULT_TOLERANCE,
    SIGNATURE_HEADER,
    SignatureError,
    verify_signature,
)

CALLBACK_LABEL = b"schutz-system-callback/1"

__all__ = [
    "SIGNATURE_HEADER",
    "Event",
    "SchutzClient",
    "SchutzError",
    "SignatureError",
    "callback_token",
    "verify_event",
]


class SchutzError(Exception):
    """Schutz answered with an error; `status` and `detail` say which."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Event:
    """A verified request event or Art. 19 notice, as Schutz signed it."""

    id: str
    type: str
    body: dict[str, Any]

    @property
    def request_id(self) -> str | None:
        value = self.body.get("request_id")
        return value if isinstance(value, str) else None

    @property
    def subject(self) -> dict[str, str]:
        found = self.body.get("subject")
        return dict(found) if isinstance(found, dict) else {}

    @property
    def awaits_answer(self) -> bool:
        return bool(self.body.get("answer"))


def callback_token(secret: bytes | str, request_id: str, system: str) -> str:
    """The bearer token a system answers a request with: HMAC-SHA256 under its secret."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    message = CALLBACK_LABEL + b"\n" + request_id.encode("ascii") + b"\n" + system.encode("ascii")
    return hmac.new(key.strip(), message, hashlib.sha256).hexdigest()


def verify_event(
    secret: bytes | str, body: bytes, header: str | None, *, tolerance: int = DEFAULT_TOLERANCE
) -> Event:
    """The event in `body` once its `Schutz-Signature` header checks out; else `SignatureError`.

    De-duplicate on `Event.id`: a retried delivery carries the same id.
    """
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    verify_signature(key.strip(), body, header, tolerance=tolerance)
    parsed = json.loads(body)
    if not isinstance(parsed, dict) or not isinstance(parsed.get("id"), str):
        raise SignatureError("the signed body is not an event")
    return Event(id=parsed["id"], type=str(parsed.get("type", "")), body=parsed)


class SchutzClient:
    """Schutz's API at `base_url`, with an API key (role `shop` for a web shop)."""

    def __init__(
        self, base_url: str, api_key: str, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=10.0,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SchutzClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        response = self._http.request(method, path, json=json_body, params=params, headers=headers)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail")
            except ValueError:
                detail = response.text[:200]
            raise SchutzError(response.status_code, detail)
        found: dict[str, Any] = response.json()
        return found

    def register_subject(self, source: str, purposes: list[str], data: Mapping[str, Any]) -> str:
        """`POST /api/v1/subjects`: the subject id (an existing address gives its subject)."""
        body = {"source": source, "purposes": purposes, "data": dict(data)}
        return str(self._call("POST", "/api/v1/subjects", json_body=body)["subject_id"])

    def place_order(self, order: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /api/v1/orders`: idempotent on `order_ref`; the disclosures it caused."""
        return self._call("POST", "/api/v1/orders", json_body=dict(order))

    def file_request(
        self, kind: str, email: str, *, external_ref: str | None = None, lang: str = "en"
    ) -> dict[str, Any]:
        """`POST /api/v1/requests`: the same answer whether or not the address is known."""
        body = {"kind": kind, "email": email, "lang": lang, "external_ref": external_ref}
        return self._call("POST", "/api/v1/requests", json_body=body)

    def request(self, request_id: str) -> dict[str, Any]:
        return self._call("GET", f"/api/v1/requests/{request_id}")

    def requests(self, **filters: str | bool) -> Iterator[dict[str, Any]]:
        """Every request matching `status`, `kind`, `overdue`, `subject_id`, page by page."""
        params: dict[str, Any] = {k: v for k, v in filters.items() if v not in (None, "")}
        while True:
            page = self._call("GET", "/api/v1/requests", params=params)
            yield from page["requests"]
            if not page.get("next"):
                return
            params["cursor"] = page["next"]

    def answer(
        self, secret: bytes | str, request_id: str, system: str, *, done: bool, note: str = ""
    ) -> dict[str, Any]:
        """A system's answer to a request event, authenticated by its callback token."""
        token = callback_token(secret, request_id, system)
        body = {"status": "done" if done else "failed", "note": note or None}
        return self._call(
            "POST",
            f"/api/v1/requests/{request_id}/systems/{system}",
            json_body=body,
            headers={"Authorization": f"Bearer {token}"},
        )

    def give_data(
        self, secret: bytes | str, request_id: str, system: str, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        """For `access.collect`: what the system holds, for the subject's package."""
        token = callback_token(secret, request_id, system)
        return self._call(
            "POST",
            f"/api/v1/requests/{request_id}/systems/{system}/data",
            json_body={"data": dict(data)},
            headers={"Authorization": f"Bearer {token}"},
        )
