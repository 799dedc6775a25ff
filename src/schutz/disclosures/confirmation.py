"""The order confirmation (§312i(1) no. 3 BGB): one plain mail per order, through the outbox.

It says only what was ordered, the total and the order reference: no address, no payment
detail. It is sealed under the customer's data key like every mail about a subject, so an
erasure before it leaves stops it; its idempotency key is the order, so an order sent again
mails no second time.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from schutz.disclosures.payloads import OrderFacts
from schutz.mail.service import enqueue_mail
from schutz.vault import service as vault
from schutz.vault.keys import Keyring

_TEXT = {
    "en": (
        "Your order {ref}",
        "Thank you for your order. We have received it as follows:\n\n{lines}\n\n"
        "Total: {total} {currency}\nOrder reference: {ref}\n\n"
        "We send this confirmation because the law requires it; your address is used for\n"
        "nothing else.\n",
    ),
    "de": (
        "Ihre Bestellung {ref}",
        "Vielen Dank für Ihre Bestellung. Wir haben sie so erhalten:\n\n{lines}\n\n"
        "Summe: {total} {currency}\nBestellnummer: {ref}\n\n"
        "Diese Bestätigung senden wir, weil das Gesetz sie verlangt; Ihre Adresse nutzen\n"
        "wir für nichts anderes.\n",
    ),
}


def _amount(value: Decimal, lang: str) -> str:
    text = f"{value:.2f}"
    return text.replace(".", ",") if lang == "de" else text


def queue_order_confirmation(
    session: Session, keyring: Keyring, order: OrderFacts, *, lang: str, now: datetime
) -> bool:
    """Queue the confirmation of `order` to its customer's address; False if none is held."""
    address = vault.contact_address(session, keyring, order.subject_id)
    if address is None:
        return False
    subject, body = _TEXT.get(lang, _TEXT["en"])
    lines = "\n".join(f"{i.quantity} x {i.name} ({i.sku})" for i in order.items)
    enqueue_mail(
        session,
        to=address,
        subject=subject.format(ref=order.order_ref),
        body=body.format(
            lines=lines,
            total=_amount(order.total, lang),
            currency=order.currency,
            ref=order.order_ref,
        ),
        idempotency_key=f"order-confirmation:{order.order_ref}",
        now=now,
        keyring=keyring,
        subject_id=order.subject_id,
    )
    return True
