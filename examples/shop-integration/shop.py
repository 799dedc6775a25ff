"""A small web shop that keeps its customers in its own SQLite database and lets Schutz
handle their privacy: it registers customers and orders through Schutz's API, receives the
request events on `/schutz/events`, erases or corrects in its own tables, and confirms.

Run it with `uvicorn --factory shop:create_shop` and these variables:
SCHUTZ_URL, SCHUTZ_API_KEY (role shop), SHOP_DB (a file), SHOP_SECRET_FILE (the secret
`schutz systems set shop_database --secret-file` was given) and SHOP_SYSTEM (default
shop_database).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from schutz.client import SchutzClient, SignatureError, verify_event

SCHEMA = """
CREATE TABLE IF NOT EXISTS customer (
    id INTEGER PRIMARY KEY, subject_id TEXT UNIQUE NOT NULL, email TEXT, name TEXT,
    restricted INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS shop_order (
    order_ref TEXT PRIMARY KEY, customer_id INTEGER REFERENCES customer(id), total TEXT);
CREATE TABLE IF NOT EXISTS seen_event (id TEXT PRIMARY KEY);
"""


@dataclass
class Shop:
    db: Path
    schutz: SchutzClient
    secret: bytes
    system: str

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db)
        conn.row_factory = sqlite3.Row
        return conn


def _register(shop: Shop) -> Callable[[Request], Any]:
    async def register(request: Request) -> JSONResponse:
        """A new customer: Schutz stores the personal data and gives the subject id."""
        body = await request.json()
        data = {"email": body["email"], "name": body["name"],
                "postal_address": body["postal_address"]}  # fmt: skip
        subject_id = shop.schutz.register_subject("order", ["order_processing", "billing"], data)
        with shop.connect() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO customer (subject_id, email, name) VALUES (?, ?, ?)",
                (subject_id, body["email"], body["name"]),
            )
            row = conn.execute("SELECT id FROM customer WHERE subject_id = ?", (subject_id,))
            customer_id = row.fetchone()["id"]
        return JSONResponse({"customer_id": customer_id, "subject_id": subject_id}, 201)

    return register


def _order(shop: Shop) -> Callable[[Request], Any]:
    async def order(request: Request) -> JSONResponse:
        """An order: Schutz discloses to the carrier and the payment provider what they need."""
        body = await request.json()
        with shop.connect() as conn:
            found = conn.execute(
                "SELECT subject_id FROM customer WHERE id = ?", (body["customer_id"],)
            ).fetchone()
            if found is None:
                return JSONResponse({"detail": "no such customer"}, 404)
            conn.execute(
                "INSERT OR IGNORE INTO shop_order VALUES (?, ?, ?)",
                (body["order_ref"], body["customer_id"], body["total"]),
            )
        placed = shop.schutz.place_order({
            "subject_id": found["subject_id"], "order_ref": body["order_ref"],
            "items": body["items"], "total": body["total"], "currency": "EUR",
            "payment": body["payment"],
        })  # fmt: skip
        return JSONResponse(placed, 201)

    return order


def _act(shop: Shop, event: dict[str, Any]) -> None:
    """Carry out one event in the shop's own tables, then answer Schutz."""
    kind, body = event["type"], event
    subject_id = body["subject"]["subject_id"]
    with shop.connect() as conn:
        row = conn.execute("SELECT * FROM customer WHERE subject_id = ?", (subject_id,)).fetchone()
        if kind == "erasure.approved" and row is not None:
            # Orders stay for the books, without the person: anonymised, not deleted.
            conn.execute("UPDATE shop_order SET customer_id = NULL WHERE customer_id = ?",
                         (row["id"],))  # fmt: skip
            conn.execute("DELETE FROM customer WHERE id = ?", (row["id"],))
        elif kind == "rectification.applied" and row is not None:
            changed = body.get("changed") or {}
            for field in ("email", "name"):
                if field in changed:
                    conn.execute(f"UPDATE customer SET {field} = ? WHERE id = ?",  # noqa: S608 - fixed names
                                 (changed[field], row["id"]))  # fmt: skip
        elif kind == "restriction.applied" and row is not None:
            conn.execute("UPDATE customer SET restricted = 1 WHERE id = ?", (row["id"],))
        elif kind == "access.collect" and row is not None:
            orders = conn.execute(
                "SELECT order_ref, total FROM shop_order WHERE customer_id = ?", (row["id"],)
            ).fetchall()
            shop.schutz.give_data(shop.secret, body["request_id"], shop.system,
                                  {"orders": [dict(o) for o in orders]})  # fmt: skip
    shop.schutz.answer(shop.secret, body["request_id"], shop.system, done=True,
                       note=f"{kind} carried out")  # fmt: skip


def _events(shop: Shop) -> Callable[[Request], Any]:
    async def events(request: Request) -> JSONResponse:
        """Schutz's request events: check the signature, act once per event id, answer."""
        raw = await request.body()
        try:
            event = verify_event(shop.secret, raw, request.headers.get("Schutz-Signature"))
        except SignatureError:
            return JSONResponse({"detail": "bad signature"}, 401)
        with shop.connect() as conn:
            fresh = conn.execute("INSERT OR IGNORE INTO seen_event VALUES (?)", (event.id,))
            if fresh.rowcount == 0:
                return JSONResponse({"status": "seen"})
        if not event.awaits_answer:
            return JSONResponse({"status": "noted"})
        # Answer after this response: Schutz's worker is waiting for it.
        return JSONResponse(
            {"status": "accepted"}, 202, background=BackgroundTask(_act, shop, event.body)
        )

    return events


def create_shop() -> Starlette:
    shop = Shop(
        db=Path(os.environ["SHOP_DB"]),
        schutz=SchutzClient(os.environ["SCHUTZ_URL"], os.environ["SCHUTZ_API_KEY"]),
        secret=Path(os.environ["SHOP_SECRET_FILE"]).read_bytes().strip(),
        system=os.environ.get("SHOP_SYSTEM", "shop_database"),
    )
    with shop.connect() as conn:
        conn.executescript(SCHEMA)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        shop.schutz.close()

    return Starlette(lifespan=lifespan, routes=[
        Route("/customers", _register(shop), methods=["POST"]),
        Route("/orders", _order(shop), methods=["POST"]),
        Route("/schutz/events", _events(shop), methods=["POST"]),
    ])  # fmt: skip
