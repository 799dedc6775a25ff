"""The access package of Art. 15 and 20 GDPR: everything held about one subject, and why.

One JSON document (structured and machine-readable, Art. 20(1)) that the readable page is
rendered from: every personal field decrypted with its source, purposes and dates; each
purpose's legal basis and retention; recipients and every disclosure with its date; the
consent history; legal holds and restriction; the policy versions the data was given under.
It is built from the subject's own rows only, so it holds nothing of anyone else.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from schutz.consent.models import ConsentEvent
from schutz.consent.service import current_state, history
from schutz.errors import Conflict, NotFound
from schutz.policy.schema import Policy
from schutz.subject_requests import holdings
from schutz.subject_requests.holdings import HeldField, HeldHold
from schutz.subject_requests.models import DataRequest, RequestKind, RequestStatus
from schutz.subject_requests.notify import DisclosureRecord, disclosures_of
from schutz.subject_requests.service import get_request, list_requests
from schutz.systems import answers
from schutz.systems import events as system_events
from schutz.vault.keys import Keyring

FORMAT = "schutz.access-export/1"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def exportable_request(session: Session, request_id: str) -> DataRequest:
    """The access request behind an export link, if it is answered and its subject exists."""
    request = get_request(session, request_id)
    if request.kind != RequestKind.ACCESS.value or request.status != RequestStatus.COMPLETED.value:
        raise Conflict("this request has no export")
    if request.subject_id is None or not holdings.is_live(session, request.subject_id):
        raise NotFound("no personal data is held for this request")
    return request


def build_package(
    session: Session,
    policy: Policy,
    keyring: Keyring,
    request: DataRequest,
    *,
    lang: str = "en",
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """The package for the subject of `request` (an answered access request); audited."""
    if request.subject_id is None:
        raise NotFound("no personal data is held for this request")
    subject_id = request.subject_id
    held = holdings.read_holdings(
        session, keyring, subject_id, actor=actor, reason=f"export:{request.id}", now=now
    )
    used = sorted({p for f in held.fields for p in f.purposes})
    events = history(session, subject_id)
    consented = {e.purpose for e in events}
    purposes = [
        _purpose(policy, key, lang) for key in policy.purposes if key in set(used) | consented
    ]
    sources = sorted({f.source for f in held.fields})
    disclosures = disclosures_of(session, subject_id)
    versions = sorted({f.policy_version for f in held.fields} | {e.policy_version for e in events})
    current = current_state(session, policy, subject_id)
    return {
        "format": FORMAT,
        "generated_at": now.isoformat(),
        "request_id": request.id,
        "subject_id": subject_id,
        "controller": {
            "name": policy.controller.name,
            "address": list(policy.controller.address.lines()),
            "fax": policy.controller.fax,
            "email": policy.controller.email,
        },
        "personal_data": [_field(policy, f, lang) for f in held.fields],
        "purposes": purposes,
        "sources": [{"source": s, "name": _source_name(policy, s, lang)} for s in sources],
        "recipients": _recipients(policy, used, disclosures, lang),
        "disclosures": [_disclosure(d) for d in disclosures],
        "consents": {
            "current": {k: v.value for k, v in current.items()},
            "history": [_statement(e) for e in events],
        },
        "restriction": {
            "restricted_since": _iso(held.restricted_at),
            "erasure_due_on": held.erasure_due_on.isoformat() if held.erasure_due_on else None,
        },
        "legal_holds": [_hold(policy, h, lang) for h in held.holds],
        "policy_versions": versions,
        "requests": [_request(r) for r in list_requests(session, subject_id=subject_id, now=now)],
        "systems": answers.data_for_package(session, keyring, request.id, subject_id),
        "notices": system_events.notices_of(session, subject_id),
    }


def _field(policy: Policy, f: HeldField, lang: str) -> dict[str, Any]:
    return {
        "field": f.field,
        "value": f.value,
        "category": f.category,
        "category_name": policy.category_name(f.category, lang),
        "source": f.source,
        "source_name": _source_name(policy, f.source, lang),
        "purposes": list(f.purposes),
        "policy_version": f.policy_version,
        "collected_at": f.created_at.isoformat(),
        "updated_at": f.updated_at.isoformat(),
    }


def _recipients(
    policy: Policy, used: list[str], disclosures: Sequence[DisclosureRecord], lang: str
) -> list[dict[str, Any]]:
    """The recipients the policy names for purposes in use, and any that received data."""
    return [
        {
            "recipient": key,
            "name": spec.name.get(lang),
            "description": spec.description.get(lang),
            "purposes": list(spec.purposes),
            "categories": list(spec.categories),
        }
        for key, spec in policy.recipients.items()
        if set(spec.purposes) & set(used) or any(d.recipient == key for d in disclosures)
    ]


def _disclosure(d: DisclosureRecord) -> dict[str, Any]:
    return {
        "recipient": d.recipient,
        "purpose": d.purpose,
        "categories": list(d.categories),
        "order_ref": d.order_ref,
        "status": d.status,
        "disclosed_at": d.created_at.isoformat(),
        "delivered_at": _iso(d.delivered_at),
    }


def _statement(e: ConsentEvent) -> dict[str, Any]:
    return {
        "purpose": e.purpose,
        "action": e.action,
        "channel": e.channel,
        "at": e.at.isoformat(),
        "policy_version": e.policy_version,
        "wording_hash": e.wording_hash,
        "wording_version": e.wording_version,
        "ip_truncated": e.ip_truncated,
        "evidence": e.evidence,
    }


def _hold(policy: Policy, h: HeldHold, lang: str) -> dict[str, Any]:
    spec = policy.legal_holds.get(h.hold)
    return {
        "hold": h.hold,
        "name": spec.name.get(lang) if spec is not None else h.hold,
        "basis": spec.basis if spec is not None else "",
        "reference": h.reference,
        "lapses_on": h.lapses_on.isoformat(),
    }


def _request(r: DataRequest) -> dict[str, Any]:
    return {
        "request_id": r.id,
        "kind": r.kind,
        "status": r.status,
        "received_at": r.received_at.isoformat(),
        "due_at": r.due_at.isoformat(),
        "completed_at": _iso(r.completed_at),
    }


def _source_name(policy: Policy, source: str, lang: str) -> str:
    spec = policy.sources.get(source)  # type: ignore[call-overload]
    return spec.name.get(lang) if spec is not None else source


def _purpose(policy: Policy, key: str, lang: str) -> dict[str, Any]:
    spec = policy.purposes[key]
    return {
        "purpose": key,
        "name": spec.name.get(lang),
        "description": spec.description.get(lang),
        "legal_basis": spec.legal_basis.value,
        "legal_basis_citation": spec.legal_basis.citation(lang),
        "categories": list(spec.categories),
        "retention": {
            "period": spec.retention.period,
            "starts_at": spec.retention.start.value,
            "note": spec.retention.note.get(lang),
        },
    }
