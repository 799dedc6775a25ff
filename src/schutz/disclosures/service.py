"""Orders and disclosures: minimal payloads per processor, sealed, recorded and queued (C2, C3).

The domain's public face. `orders.py` places an order (the whole of clause C3 in one
transaction), `checks.py` holds what an order and a recipient must pass, `views.py` reads
what each recipient received, and `delivery.py` serves the webhook sender. Functions flush
and never commit; each writes its audit entry in the same transaction.
"""

from __future__ import annotations

from schutz.disclosures.checks import (
    CENT,
    MAX_AMOUNT,
    MAX_ITEMS,
    ORDER_REF,
    PAYMENT_METHOD,
    check_order,
    check_recipient,
    with_clean_delivery_address,
)
from schutz.disclosures.delivery import (
    PendingDelivery,
    pending_delivery,
    record_outcome,
    retry_disclosure,
)
from schutz.disclosures.orders import (
    INVOICE_HOLD,
    ORDER_PURPOSES,
    OrderResult,
    place_order,
)
from schutz.disclosures.payloads import OrderFacts
from schutz.disclosures.views import (
    DisclosureView,
    order_disclosures,
    recent_disclosures,
    status_counts,
    subject_disclosures,
)

__all__ = [
    "CENT",
    "INVOICE_HOLD",
    "MAX_AMOUNT",
    "MAX_ITEMS",
    "ORDER_PURPOSES",
    "ORDER_REF",
    "PAYMENT_METHOD",
    "DisclosureView",
    "OrderFacts",
    "OrderResult",
    "PendingDelivery",
    "check_order",
    "check_recipient",
    "order_disclosures",
    "pending_delivery",
    "place_order",
    "recent_disclosures",
    "record_outcome",
    "retry_disclosure",
    "status_counts",
    "subject_disclosures",
    "with_clean_delivery_address",
]
