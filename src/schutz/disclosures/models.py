"""Tables of disclosures: recipient endpoints, orders kept for invoicing, and each disclosure.

No column holds a personal value in plaintext. An order's details and a disclosure's payload
are AES-256-GCM ciphertexts under the subject's own data key, so erasing the subject
(crypto-shredding) makes them unreadable too; the rows themselves outlive the erasure as
the record that a disclosure happened (Art. 5(2), Art. 30(1)(d) GDPR).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from schutz.db import Base, UtcDateTime


class DisclosureStatus(StrEnum):
    QUEUED = "queued"
    RETRYING = "retrying"
    DELIVERED = "delivered"
    DEAD = "dead"


class WebhookEndpoint:
    """The columns of a webhook endpoint: its URL, its signing secret's file, who set it.

    Recipients' endpoints and the operator's systems' endpoints (`schutz.systems`) share them.
    """

    url: Mapped[str] = mapped_column(
        String(2000), comment="Webhook URL: https, or http to a loopback address only."
    )
    secret_file: Mapped[str] = mapped_column(
        String(1000), comment="Absolute path of the file (mode 0600) holding the signing secret."
    )
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, comment="Last set (UTC).")
    updated_by: Mapped[str] = mapped_column(String(120), comment="Who set it (audit label).")


class RecipientEndpoint(WebhookEndpoint, Base):
    """Where a processor named in the policy receives its webhooks, and the signing secret."""

    __tablename__ = "disclosure_endpoint"

    recipient: Mapped[str] = mapped_column(
        String(64), primary_key=True, comment="Recipient key in the policy, e.g. freight_carrier."
    )


class Order(Base):
    """An order as the shop reported it; its details are an invoice voucher under legal hold."""

    __tablename__ = "disclosure_order"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="Random hex id.")
    order_ref: Mapped[str] = mapped_column(
        String(80),
        unique=True,
        comment="The shop's order reference; idempotency key of the request.",
    )
    subject_id: Mapped[str] = mapped_column(
        ForeignKey("vault_subject.id"), index=True, comment="Who ordered (vault id)."
    )
    key_version: Mapped[int] = mapped_column(Integer, comment="Data-key version of `details`.")
    details: Mapped[bytes] = mapped_column(
        LargeBinary,
        comment="Items, total, currency, payment: AES-256-GCM under the subject's data key.",
    )
    policy_version: Mapped[str] = mapped_column(String(40), comment="Policy in force at the order.")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, comment="When received (UTC).")
    created_by: Mapped[str] = mapped_column(String(120), comment="Who sent it (audit label).")


class Disclosure(Base):
    """One payload for one processor: who, what categories, why, and whether it arrived."""

    __tablename__ = "disclosure"
    __table_args__ = (Index("ix_disclosure_status_created", "status", "created_at"),)

    id: Mapped[str] = mapped_column(
        String(32), primary_key=True, comment="Random hex id; the webhook's Idempotency-Key."
    )
    order_id: Mapped[str] = mapped_column(
        ForeignKey("disclosure_order.id"), index=True, comment="The order that caused it."
    )
    subject_id: Mapped[str] = mapped_column(
        ForeignKey("vault_subject.id"), index=True, comment="Whose data (vault id)."
    )
    recipient: Mapped[str] = mapped_column(String(64), comment="Recipient key in the policy.")
    purpose: Mapped[str] = mapped_column(String(64), comment="Purpose it serves (C2).")
    categories: Mapped[list[str]] = mapped_column(
        JSON, comment="Taxonomy categories of the personal data in the payload."
    )
    policy_version: Mapped[str] = mapped_column(String(40), comment="Policy that allowed it.")
    key_version: Mapped[int] = mapped_column(Integer, comment="Data-key version of `payload`.")
    payload: Mapped[bytes] = mapped_column(
        LargeBinary,
        comment="The exact JSON body sent, AES-256-GCM under the subject's data key.",
    )
    payload_hash: Mapped[str] = mapped_column(
        String(64), comment="SHA-256 (hex) of the exact body; proves what was sent."
    )
    status: Mapped[str] = mapped_column(String(16), comment="queued, retrying, delivered or dead.")
    outbox_id: Mapped[str] = mapped_column(String(32), comment="The outbox row delivering it now.")
    retries: Mapped[int] = mapped_column(
        Integer, default=0, comment="Times staff sent a dead delivery again."
    )
    last_error: Mapped[str | None] = mapped_column(
        String(200), comment="Why the last attempt failed: status code or error class only."
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, comment="When recorded (UTC).")
    delivered_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, comment="When the recipient answered 2xx (UTC)."
    )

    def summary(self) -> dict[str, Any]:
        """What may be shown about it without the payload (no personal data)."""
        return {
            "id": self.id,
            "recipient": self.recipient,
            "purpose": self.purpose,
            "categories": list(self.categories),
            "status": self.status,
        }
