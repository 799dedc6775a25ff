"""How many password checks run at once: argon2 is slow and takes 64 MiB on purpose.

Unbounded, a hundred bad sign-ins at once fill the thread pool and gigabytes of memory, and
every other page waits. The gate lets `size` checks (one per CPU core) run in worker threads
and lets a caller wait `wait` seconds for a turn; after that the sign-in is answered 503 with
`Retry-After` (RFC 9110, section 15.6.4) at once. Waiting happens on the event loop and holds
no thread, so the rest of the site keeps answering.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from starlette.requests import Request

QUEUE_WAIT = 1.0
"""Seconds a sign-in waits for a free check before it is turned away."""
RETRY_AFTER = 2
"""Seconds a turned-away client is told to wait."""


class GateBusy(Exception):
    """Every password check is taken and none came free in time."""


def cores() -> int:
    """The CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class PasswordGate:
    """At most `size` password checks at once; a caller waits at most `wait` seconds."""

    def __init__(self, size: int, wait: float = QUEUE_WAIT) -> None:
        self._turns = anyio.Semaphore(size)
        self.wait = wait

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold one of the checks for the body of the `async with`, or raise GateBusy."""
        acquired = False
        try:
            self._turns.acquire_nowait()
            acquired = True
        except anyio.WouldBlock:
            with anyio.move_on_after(self.wait):
                await self._turns.acquire()
                acquired = True
        if not acquired:
            raise GateBusy
        try:
            yield
        finally:
            self._turns.release()


def password_gate(request: Request) -> PasswordGate:
    """The app's gate, made on first use (one per process: each server bounds its own CPUs)."""
    gate: PasswordGate | None = getattr(request.app.state, "password_gate", None)
    if gate is None:
        gate = PasswordGate(cores())
        request.app.state.password_gate = gate
    return gate
