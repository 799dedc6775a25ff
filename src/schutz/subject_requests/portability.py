"""The portable copy of Art. 20 GDPR: the personal data the subject provided, as JSON and CSV.

Art. 20(1) covers data "concerning him or her, which he or she has provided to a
controller", where the processing rests on consent or a contract. Which stored fields those
are is decided from the policy, field by field:

- the *source*: every source the policy declares (registration, order, survey, contact
  form, newsletter) is a channel through which the subject enters data, so a field stored
  from any of them was provided by the subject; a field from a source the policy no longer
  names is left out, as its origin cannot be shown;
- the *category*: categories the controller records about the subject's use of the site
  or derives from it (`user.behavior.*` such as purchase and browsing history,
  `user.device.*`, `user.derived.*`, `user.location.*`) are observed or derived, not
  provided, and are left out;
- the *legal basis*: at least one purpose the field was collected for must rest on
  consent or a contract (Art. 20(1)(a)); a field kept only on legitimate interests is left
  out (Art. 15 access still shows it).

Fields left out are listed by name, category and reason, without their values, so the
subject sees why. The package holds nothing of anyone else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from schutz.errors import Conflict, NotFound
from schutz.policy.schema import LegalBasis, Policy
from schutz.subject_requests import holdings
from schutz.subject_requests.holdings import HeldField
from schutz.subject_requests.models import DataRequest, RequestKind, RequestStatus
from schutz.subject_requests.service import get_request
from schutz.vault.keys import Keyring

FORMAT = "schutz.portable-data/1"
OBSERVED = ("user.behavior", "user.device", "user.derived", "user.location")
PORTABLE_BASES = frozenset({LegalBasis.CONSENT.value, LegalBasis.CONTRACT.value})
CSV_COLUMNS = ("field", "value", "category", "source", "collected_at", "updated_at")


def portable_request(session: Session, request_id: str) -> DataRequest:
    """The answered portability request behind a download link, if its subject exists."""
    request = get_request(session, request_id)
    if (
        request.kind != RequestKind.PORTABILITY.value
        or request.status != RequestStatus.COMPLETED.value
    ):
        raise Conflict("this request has no portable copy")
    if request.subject_id is None or not holdings.is_live(session, request.subject_id):
        raise NotFound("no personal data is held for this request")
    return request


def left_out_because(policy: Policy, field: HeldField) -> str | None:
    """Why `field` is not portable (`source`, `observed`, `legal_basis`), or None if it is."""
    if field.source not in policy.sources:
        return "source"
    if any(field.category == c or field.category.startswith(c + ".") for c in OBSERVED):
        return "observed"
    bases = {str(policy.purposes[p].legal_basis) for p in field.purposes if p in policy.purposes}
    return None if bases & PORTABLE_BASES else "legal_basis"


def _nested(fields: list[HeldField]) -> dict[str, Any]:
    """`{"email": ..., "postal_address": {"city": ...}}`: the API's shape, to import elsewhere."""
    data: dict[str, Any] = {}
    for f in fields:
        head, _, rest = f.field.partition(".")
        if rest:
            data.setdefault(head, {})[rest] = f.value
        else:
            data[head] = f.value
    return data


def build_portable(
    session: Session,
    policy: Policy,
    keyring: Keyring,
    request: DataRequest,
    *,
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """The portable package for the subject of `request`; the read is audited."""
    if request.subject_id is None:
        raise NotFound("no personal data is held for this request")
    held = holdings.read_holdings(
        session, keyring, request.subject_id, actor=actor, reason=f"portability:{request.id}",
        now=now,
    )  # fmt: skip
    given = [f for f in held.fields if left_out_because(policy, f) is None]
    return {
        "format": FORMAT,
        "generated_at": now.isoformat(),
        "request_id": request.id,
        "controller": policy.controller.name,
        "data": _nested(given),
        "fields": [
            {
                "field": f.field, "value": f.value, "category": f.category,
                "source": f.source, "collected_at": f.created_at.isoformat(),
                "updated_at": f.updated_at.isoformat(),
            }
            for f in given
        ],
        "left_out": [
            {"field": f.field, "category": f.category, "reason": reason}
            for f in held.fields
            if (reason := left_out_because(policy, f)) is not None
        ],
    }  # fmt: skip


def csv_rows(package: dict[str, Any]) -> list[tuple[str, ...]]:
    """The package's fields as rows under `CSV_COLUMNS`."""
    return [tuple(str(f[c]) for c in CSV_COLUMNS) for f in package["fields"]]
