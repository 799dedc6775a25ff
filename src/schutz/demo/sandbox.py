"""Sandbox processors under `/sandbox/{recipient}`: they receive the webhooks, check the
signature with `schutz.disclosures.verify` as any processor would, and show what arrived.

Demo only. What a processor receives is no longer Schutz's data, so the sandbox keeps it in
this process's memory (the newest `KEEP` per recipient), never in Schutz's database, and
forgets it on restart. A repeated delivery (the same `id` in the signed body) is counted,
not stored twice: that is the de-duplication a real processor does.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from schutz.clock import utcnow
from schutz.disclosures.endpoints import SecretFileError, get_endpoint, read_secret
from schutz.disclosures.verify import (
    SIGNATURE_HEADER,
    MalformedSignature,
    SignatureError,
    delivery_id,
    verify_signature,
)
from schutz.web.deps import LangDep, PolicyDep, SessionDep, UnitOfWorkRoute
from schutz.web.templating import render

router = APIRouter(prefix="/sandbox", include_in_schema=False, route_class=UnitOfWorkRoute)

KEEP = 100
MAX_BODY = 64 * 1024
SIDE_BY_SIDE = ("freight_carrier", "payment_service_provider", "bank")


@dataclass
class Receipt:
    key: str
    body: dict[str, Any]
    received_at: datetime
    times: int = 1

    @property
    def order_ref(self) -> str:
        data = self.body.get("data")
        return str(data.get("order_ref", "")) if isinstance(data, dict) else ""

    @property
    def pretty(self) -> str:
        return json.dumps(self.body, indent=2, ensure_ascii=False, sort_keys=True)


@dataclass
class Inbox:
    """What each sandbox processor received, newest last; one lock for all of it."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    by_recipient: dict[str, OrderedDict[str, Receipt]] = field(default_factory=dict)

    def add(self, recipient: str, key: str, body: dict[str, Any], now: datetime) -> bool:
        """Keep `body` under `key`; False if that key was seen before (a repeat)."""
        with self.lock:
            box = self.by_recipient.setdefault(recipient, OrderedDict())
            if key in box:
                box[key].times += 1
                return False
            box[key] = Receipt(key, body, now)
            while len(box) > KEEP:
                box.popitem(last=False)
            return True

    def newest(self, recipient: str) -> list[Receipt]:
        with self.lock:
            return list(reversed(self.by_recipient.get(recipient, OrderedDict()).values()))


def inbox(request: Request) -> Inbox:
    found: Inbox | None = getattr(request.app.state, "sandbox_inbox", None)
    if found is None:
        found = request.app.state.sandbox_inbox = Inbox()
    return found


def sandbox_secret(recipient: str, session: SessionDep, policy: PolicyDep) -> bytes:
    """The signing secret the sandbox shares with Schutz (read in a worker thread)."""
    if recipient not in policy.recipients:
        raise HTTPException(404, "no such sandbox processor")
    endpoint = get_endpoint(session, recipient)
    if endpoint is None:
        raise HTTPException(404, "this sandbox processor is not configured")
    try:
        return read_secret(endpoint.secret_file)
    except SecretFileError:
        raise HTTPException(503, "the sandbox cannot read its signing secret") from None


@router.post("/{recipient}/webhook")
async def receive(
    request: Request, recipient: str, secret: Annotated[bytes, Depends(sandbox_secret)]
) -> Response:
    """Accept one delivery: 400 for a malformed signature header or body, 401 for a bad
    signature, 200 for new and repeated ones alike.

    Repeats are recognised by the `id` inside the signed body, not by the unsigned
    `Idempotency-Key` header, which a replayer could change at will.
    """
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(413, "too large")
    try:
        verify_signature(secret, body, request.headers.get(SIGNATURE_HEADER))
        key = delivery_id(body)
    except MalformedSignature as exc:
        return JSONResponse({"detail": f"signature refused: {exc}"}, status_code=400)
    except SignatureError as exc:
        return JSONResponse({"detail": f"signature refused: {exc}"}, status_code=401)
    parsed = json.loads(body)  # delivery_id has checked it is a JSON object
    fresh = inbox(request).add(recipient, key, parsed, utcnow())
    return JSONResponse({"received": True, "duplicate": not fresh})


def _column(policy: Any, recipient: str, lang: str, receipts: list[Receipt]) -> dict[str, Any]:
    spec = policy.recipients[recipient]
    return {
        "recipient": recipient,
        "name": spec.name.get(lang),
        "description": spec.description.get(lang),
        "receipts": receipts,
    }


@router.get("")
def side_by_side(request: Request, policy: PolicyDep, lang: LangDep, order: str = "") -> Response:
    """The carrier, the payment provider and the bank next to each other."""
    box = inbox(request)
    columns = [
        _column(policy, name, lang, box.newest(name))
        for name in SIDE_BY_SIDE
        if name in policy.recipients
    ]
    response = render(request, "sandbox/index.html", {"columns": columns, "order": order[:80]})
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/{recipient}")
def one_processor(
    request: Request, recipient: str, policy: PolicyDep, lang: LangDep, order: str = ""
) -> Response:
    if recipient not in policy.recipients:
        raise HTTPException(404, "no such sandbox processor")
    column = _column(policy, recipient, lang, inbox(request).newest(recipient))
    response = render(request, "sandbox/index.html", {"columns": [column], "order": order[:80]})
    response.headers["Cache-Control"] = "no-store"
    return response
