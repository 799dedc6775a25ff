"""`/api/v1/orders`: order intake with its disclosures (C3), and what each recipient received.

Each route turns HTTP into one disclosures call and commits. A refusal the services audited
(a denied read, a recipient the policy does not allow) is committed too, so the audit entry
survives the error answer; nothing of the order is written before such a refusal.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from schutz.clock import utcnow
from schutz.disclosures import service
from schutz.disclosures.confirmation import queue_order_confirmation
from schutz.disclosures.payloads import OrderFacts, OrderItem
from schutz.identity.actor import Actor
from schutz.vault.crypto import IntegrityCheckError
from schutz.web.auth import require_role
from schutz.web.deps import (
    KeyringDep,
    RulesDep,
    SessionDep,
    UnitOfWorkRoute,
    keep_audit_on,
    retry_on_race,
)

router = APIRouter(prefix="/api/v1/orders", tags=["orders"], route_class=UnitOfWorkRoute)

Shop = Annotated[Actor, Depends(require_role("shop", "admin"))]
Reader = Annotated[Actor, Depends(require_role("shop", "fulfilment", "support", "dpo", "admin"))]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Item(_Strict):
    sku: str = Field(min_length=1, max_length=64, examples=["CL390"])
    name: str = Field(min_length=1, max_length=200, examples=["Gigaset CL390"])
    quantity: int = Field(ge=1, le=10_000)
    unit_price: Decimal = Field(ge=0, max_digits=12, decimal_places=2, examples=["39.99"])


class Payment(_Strict):
    method: str = Field(examples=["card"], description="A short lower-case name.")
    reference: str = Field(examples=["PAY-7F3A-2291"], description="The payment's reference.")


class DeliveryAddress(_Strict):
    street: str = Field(min_length=1, max_length=200)
    postal_code: str = Field(min_length=1, max_length=20)
    city: str = Field(min_length=1, max_length=100)
    country: str = Field(min_length=1, max_length=60, description="ISO 3166 code or name.")


class Confirmation(_Strict):
    lang: Literal["en", "de"] = Field(default="en", description="The mail's language.")


class OrderCreate(_Strict):
    subject_id: str = Field(description="From POST /api/v1/subjects with source `order`.")
    order_ref: str = Field(examples=["GS-100231"], description="Unique; requests are idempotent.")
    items: list[Item] = Field(min_length=1)
    total: Decimal = Field(ge=0, max_digits=12, decimal_places=2, examples=["44.98"])
    currency: str = Field(examples=["EUR"], description="ISO 4217.")
    payment: Payment
    delivery_address: DeliveryAddress | None = Field(
        default=None,
        description="Where this order goes, if not to the postal address held for the subject."
        " Sent only to the recipients whose payload names postal_address (the carrier), kept"
        " sealed under the subject's key with the order; the vault is not changed.",
    )
    confirmation: Confirmation | None = Field(
        default=None,
        description="Have Schutz mail the order confirmation (§312i BGB) to the subject's"
        " address through its outbox: items, total and reference only; once per order.",
    )

    def facts(self) -> OrderFacts:
        return OrderFacts(
            subject_id=self.subject_id,
            order_ref=self.order_ref,
            items=tuple(OrderItem(i.sku, i.name, i.quantity, i.unit_price) for i in self.items),
            total=self.total,
            currency=self.currency,
            payment_method=self.payment.method,
            payment_reference=self.payment.reference,
            delivery_address=(
                None if self.delivery_address is None else self.delivery_address.model_dump()
            ),
        )


class DisclosureBrief(BaseModel):
    recipient: str
    categories: list[str]
    status: str = Field(description="queued, retrying, delivered or dead.")


class OrderPlaced(BaseModel):
    order_ref: str
    disclosures: list[DisclosureBrief]


class DisclosureDetail(BaseModel):
    recipient: str
    purpose: str
    categories: list[str]
    status: str
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any] | None = Field(
        default=None,
        description="The exact JSON sent; DPO role only; null once the subject is erased.",
    )


class OrderDisclosures(BaseModel):
    disclosures: list[DisclosureDetail]


def _placed(result: service.OrderResult) -> OrderPlaced:
    return OrderPlaced(
        order_ref=result.order_ref,
        disclosures=[
            DisclosureBrief(recipient=d.recipient, categories=list(d.categories), status=d.status)
            for d in result.disclosures
        ],
    )


@router.post(
    "",
    status_code=201,
    response_model=OrderPlaced,
    responses={
        200: {"model": OrderPlaced, "description": "The same order again: the first result."},
        403: {"description": "The subject's data may not be used or disclosed for orders."},
        409: {"description": "The order_ref exists with other contents."},
    },
)
def place_order(
    body: OrderCreate,
    response: Response,
    session: SessionDep,
    rules: RulesDep,
    keyring: KeyringDep,
    actor: Shop,
) -> OrderPlaced:
    """Record an order; each processor gets only what the policy lists for it (C3)."""
    facts = body.facts()

    def place() -> service.OrderResult:
        return service.place_order(
            session, rules, keyring, facts, role=actor.role, actor=actor.label, now=utcnow()
        )

    # A refusal's audit entry is kept (nothing of the order was written), and so is that
    # of an integrity failure. The same order_ref arriving twice at once: the other
    # request won, and this one answers as a replay.
    with keep_audit_on(session, IntegrityCheckError):
        result = retry_on_race(session, place)
    if not result.created:
        response.status_code = 200
    elif body.confirmation is not None:
        queue_order_confirmation(session, keyring, facts, lang=body.confirmation.lang, now=utcnow())
    return _placed(result)


@router.get(
    "/{order_ref}/disclosures",
    response_model=OrderDisclosures,
    responses={404: {"description": "No such order."}},
)
def order_disclosures(
    order_ref: str, session: SessionDep, keyring: KeyringDep, actor: Reader
) -> OrderDisclosures:
    """What each recipient received for the order; `payload` only for the DPO role."""
    with_payload = actor.role == "dpo"
    views = service.order_disclosures(
        session, keyring, order_ref, with_payload=with_payload, actor=actor.label, now=utcnow()
    )  # with the payload, the read is audited
    return OrderDisclosures(
        disclosures=[
            DisclosureDetail(
                recipient=v.recipient,
                purpose=v.purpose,
                categories=list(v.categories),
                status=v.status,
                created_at=v.created_at,
                delivered_at=v.delivered_at,
                payload=v.payload,
            )
            for v in views
        ]
    )
