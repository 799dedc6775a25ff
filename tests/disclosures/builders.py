"""Typed builders for disclosure tests: a customer who ordered, an order, a local receiver."""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from schutz.disclosures.payloads import OrderFacts, OrderItem
from schutz.disclosures.verify import SignatureError, verify_signature

NOW = datetime(2026, 11, 15, 10, 0, tzinfo=UTC)


def order_for(subject_id: str, order_ref: str = "GS-1001", **overrides: Any) -> OrderFacts:
    values: dict[str, Any] = {
        "subject_id": subject_id,
        "order_ref": order_ref,
        "items": (OrderItem("CL390", "Gigaset CL390", 1, Decimal("39.99")),),
        "total": Decimal("44.98"),
        "currency": "EUR",
        "payment_method": "card",
        "payment_reference": "PAY-7F3A-2291",
    }
    values.update(overrides)
    return OrderFacts(**values)


def secret_file(directory: Path, name: str = "carrier", secret: str = "s" * 32) -> Path:
    """A secret file with mode 0600, as `schutz recipients set --secret-file` wants it."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.secret"
    path.write_text(secret + "\n")
    path.chmod(0o600)
    return path


@dataclass
class Receiver:
    """A real HTTP receiver on 127.0.0.1 that checks signatures and counts by Idempotency-Key.

    `statuses` is a script of answers (then 200 for ever); `delay` slows every answer down
    so that a worker can be killed while a delivery is in flight.
    """

    secret: str = "s" * 32
    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    posts: list[dict[str, Any]] = field(default_factory=list)
    by_key: Counter[str] = field(default_factory=Counter)
    bad_signatures: int = 0
    torn: int = 0
    """Requests cut off by the sender's death: fewer bytes than their Content-Length."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    @property
    def delivered(self) -> dict[str, dict[str, Any]]:
        """Each distinct disclosure the receiver accepted, by Idempotency-Key (deduplicated)."""
        with self.lock:
            return {p["key"]: p["body"] for p in self.posts if p["accepted"]}

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender died mid-request (a SIGKILL in the crash tests): no request
                    # arrived, nobody is left to answer, and the outbox sends it again.
                    with receiver.lock:
                        receiver.torn += 1
                    self.close_connection = True
                    return
                if receiver.delay:
                    threading.Event().wait(receiver.delay)
                try:
                    verify_signature(receiver.secret, body, self.headers.get("Schutz-Signature"))
                    valid = True
                except SignatureError:
                    valid = False
                key = self.headers.get("Idempotency-Key", "")
                with receiver.lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    if not valid:
                        receiver.bad_signatures += 1
                        status = 401
                    receiver.by_key[key] += 1
                    receiver.posts.append(
                        {
                            "key": key,
                            "body": json.loads(body),
                            "status": status,
                            "accepted": 200 <= status < 300,
                            "headers": dict(self.headers),
                        }
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
