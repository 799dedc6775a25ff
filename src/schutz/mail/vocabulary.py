"""The kinds and states of an outbox row, apart from the table, for the domains that queue."""

from __future__ import annotations

from enum import StrEnum


class OutboxKind(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"
