"""The vault's operations: intake, look-up, purpose-checked reads, rectification.

Every function takes the session, flushes and never commits; every read and write adds an
audit entry in the same transaction (Art. 5(2) GDPR, accountability). Allow and deny come
from the policy's decision engine; this module only applies its answers to stored fields.
Intake (write authority, adding only what is new) lives in `schutz.vault.intake`; reads take
consent state from the consent ledger themselves, never from the caller. Erasure,
restriction and holds live in `schutz.vault.erasure`, key rotation in
`schutz.vault.rotation`, and what other domains need beyond these reads (the Art. 15 export,
sealing under a subject's key, audiences in bulk) in `schutz.vault.access`; all are
re-exported here, the one module other domains import.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.consent import service as ledger
from schutz.errors import Conflict, Denied, InvalidInput, NotFound
from schutz.policy.engine import Engine
from schutz.vault.access import (
    HeldField,
    HeldHold,
    SubjectFields,
    contact_address,
    is_live,
    legal_holds,
    open_for_subject,
    read_emails_for_purpose,
    seal_for_subject,
    subject_fields,
    subjects_for_purpose,
)
from schutz.vault.crypto import FieldCipher, IntegrityCheckError
from schutz.vault.erasure import (
    ERASURE_TABLES,
    ErasureResult,
    erase_subject,
    erasure_decisions,
    lift_restriction,
    reapply_erasure,
    restrict_subject,
    run_retention,
)
from schutz.vault.holds import place_hold
from schutz.vault.intake import IntakeResult, id_by_email, intake
from schutz.vault.keys import Keyring
from schutz.vault.models import PersonalField, Subject
from schutz.vault.rotation import pending_rewraps, rewrap_keys
from schutz.vault.subject_keys import cipher_of, live_subject, subject_cipher
from schutz.vault.validation import normalise_email, normalise_fields

__all__ = [
    "ERASURE_TABLES",
    "ErasureResult",
    "FieldCipher",
    "HeldField",
    "HeldHold",
    "IntakeResult",
    "IntegrityCheckError",
    "SubjectData",
    "SubjectFields",
    "contact_address",
    "erase_subject",
    "erasure_decisions",
    "find_subject",
    "intake",
    "is_live",
    "legal_holds",
    "lift_restriction",
    "normalise_fields",
    "open_for_subject",
    "pending_rewraps",
    "place_hold",
    "read_emails_for_purpose",
    "read_subject",
    "reapply_erasure",
    "rectify",
    "restrict_subject",
    "reveal_justification",
    "rewrap_keys",
    "run_retention",
    "seal_for_subject",
    "subject_cipher",
    "subject_fields",
    "subjects_for_purpose",
]

JUSTIFICATION_FIELD = "audit.justification"
SUBJECTS = cast(Table, Subject.__table__)
FIELDS = cast(Table, PersonalField.__table__)


@dataclass(frozen=True, slots=True)
class SubjectData:
    """The fields of one subject a read was allowed to see, flat (`postal_address.city`)."""

    subject_id: str
    purpose: str
    data: dict[str, str]
    flagged: bool


def _find_by_email(session: Session, keyring: Keyring, email: str) -> Subject | None:
    subject_id = id_by_email(session, keyring, email)
    return None if subject_id is None else session.get(Subject, subject_id)


def find_subject(
    session: Session, keyring: Keyring, email: str, *, actor: str, now: datetime
) -> str:
    """The id of the subject with this e-mail address, found by its blind index only."""
    try:
        normalised = normalise_email(email)
    except InvalidInput:
        normalised = None
    subject = _find_by_email(session, keyring, normalised) if normalised else None
    audit.record(
        session,
        actor=actor,
        action="vault.lookup",
        subject_id=subject.id if subject else None,
        details={"found": subject is not None},
        now=now,
    )
    if subject is None:
        raise NotFound("no subject with this e-mail address")
    return subject.id


class _Who(TypedDict):
    actor: str
    subject_id: str
    purpose: str
    now: datetime


def _refuse(
    session: Session,
    *,
    actor: str,
    subject_id: str,
    purpose: str,
    rule: str,
    reason: str,
    flagged: bool,
    now: datetime,
) -> Denied:
    audit.record(
        session,
        actor=actor,
        action="vault.read_denied",
        subject_id=subject_id,
        purpose=purpose,
        details={"rule": rule, "reason": reason},
        flagged=flagged,
        now=now,
    )
    return Denied(f"reading this subject for {purpose!r} is not allowed", reason, rule)


def read_subject(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    subject_id: str,
    purpose: str,
    *,
    actor: str,
    role: str,
    justification: str | None = None,
    now: datetime,
) -> SubjectData:
    """Decrypt exactly the fields the engine allows `role` to use for `purpose` (C9).

    The subject's consents and objections come from the consent ledger, read here and not
    taken from the caller, so an objection (Art. 21(3) GDPR) or a withdrawal (Art. 7(3))
    binds every read whoever asks. Purpose binding (Art. 5(1)(b) GDPR): a field is returned
    only if it was collected for `purpose`, or the subject consented to it, or `purpose` is
    one of the exception purposes of C9; those need a written justification and are
    flagged for the DPO. Every read, allowed or refused, is audited; the refusal's entry
    survives the refusal. A field that fails its integrity check is audited, flagged and
    raised, never returned.
    """
    subject = live_subject(session, subject_id)
    state = ledger.subject_state(
        session, rules.policy, subject_id, restricted=subject.restricted_at is not None
    )
    consented = state.consented
    decision = rules.check(role, purpose, state)
    common = _Who(actor=actor, subject_id=subject_id, purpose=purpose, now=now)
    if not decision.allowed:
        raise _refuse(session, rule=decision.rule, reason=decision.reason, flagged=False, **common)
    justification = (justification or "").strip()
    if decision.needs_justification and not justification:
        raise _refuse(
            session,
            rule="justification",
            reason=f"{purpose!r} is an exception purpose (C9): a written justification is"
            " required (X-Schutz-Justification)",
            flagged=True,
            **common,
        )
    readable = rules.readable_fields(role, purpose, state)
    bound = decision.needs_justification or purpose in consented
    rows = session.execute(
        select(
            PersonalField.field,
            PersonalField.category,
            PersonalField.ciphertext,
            PersonalField.key_version,
            PersonalField.purposes,
        ).where(PersonalField.subject_id == subject_id, PersonalField.field.in_(list(readable)))
    ).all()
    rows = [r for r in rows if bound or purpose in r.purposes]
    if not rows:
        raise _refuse(
            session,
            rule="purpose_binding",
            reason=f"none of this subject's data was collected for {purpose!r}"
            " (purpose binding, Art. 5(1)(b) GDPR, C9)",
            flagged=False,
            **common,
        )
    cipher = cipher_of(keyring, subject)
    data: dict[str, str] = {}
    try:
        for row in rows:
            data[row.field] = cipher.decrypt(
                row.field, row.category, row.ciphertext, row.key_version
            )
    except IntegrityCheckError as exc:
        audit.record(
            session,
            action="vault.integrity_failure",
            details={"field": row.field, "category": row.category},
            flagged=True,
            **common,
        )
        raise exc from None
    details: dict[str, Any] = {"role": role, "fields": sorted(data), "rule": decision.rule}
    if decision.needs_justification:
        # The justification is free text and may name people: it goes into the log
        # encrypted under the subject's key, readable by the DPO and shredded on erasure.
        sealed = cipher.encrypt(JUSTIFICATION_FIELD, JUSTIFICATION_FIELD, justification)
        details["justification"] = base64.b64encode(sealed).decode("ascii")
    audit.record(
        session,
        action="vault.read",
        details=details,
        flagged=decision.needs_justification,
        **common,
    )
    return SubjectData(subject_id, purpose, data, decision.needs_justification)


def reveal_justification(session: Session, keyring: Keyring, subject_id: str, sealed: str) -> str:
    """The plaintext of a justification kept in an audit entry (for the DPO's review)."""
    cipher = cipher_of(keyring, live_subject(session, subject_id))
    blob = base64.b64decode(sealed)
    return cipher.decrypt(JUSTIFICATION_FIELD, JUSTIFICATION_FIELD, blob, cipher.key_version)


def rectify(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    subject_id: str,
    data: Mapping[str, str],
    *,
    actor: str,
    now: datetime,
) -> tuple[str, ...]:
    """Correct fields (Art. 16 GDPR, first sentence) or add missing ones (second sentence).

    A corrected field keeps its source and purposes. A new field is accepted only if a
    source the subject's data came from may bring it for the purposes already held (C1);
    otherwise 422 names it and nothing changes.
    """
    subject = live_subject(session, subject_id)
    values = normalise_fields(data)
    rows = session.execute(
        select(
            PersonalField.id, PersonalField.field, PersonalField.source, PersonalField.purposes
        ).where(PersonalField.subject_id == subject_id)
    ).all()
    have = {row.field: row for row in rows}
    sources: dict[str, list[str]] = {}
    for row in rows:
        held = sources.setdefault(row.source, [])
        held.extend(p for p in row.purposes if p not in held)
    additions: dict[str, tuple[str, list[str]]] = {}
    refused = []
    for name in values:
        if name in have:
            continue
        origin = next((s for s, ps in sources.items() if name in rules.intake_fields(s, ps)), None)
        if origin is None:
            refused.append(name)
        else:
            additions[name] = (origin, sources[origin])
    if refused:
        raise InvalidInput(
            f"fields not covered by the purposes this subject's data was collected for:"
            f" {', '.join(sorted(refused))} (C1); nothing was changed"
        )
    cipher = cipher_of(keyring, subject)
    fields_map = rules.policy.fields
    changed, new_rows = [], []
    for name, value in values.items():
        category = fields_map[name]  # type: ignore[index]
        blob = cipher.encrypt(name, category, value)
        if name in have:
            changed.append(
                {
                    "id": have[name].id,
                    "ciphertext": blob,
                    "category": category,
                    "key_version": cipher.key_version,
                    "updated_at": now,
                }
            )
        else:
            origin, purposes = additions[name]
            new_rows.append(
                {
                    "subject_id": subject_id,
                    "field": name,
                    "category": category,
                    "key_version": cipher.key_version,
                    "ciphertext": blob,
                    "source": origin,
                    "purposes": purposes,
                    "policy_version": rules.policy.version,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    if "email" in values:
        other = _find_by_email(session, keyring, values["email"])
        if other is not None and other.id != subject_id:
            raise Conflict("another subject already has this e-mail address")
        subject.email_index = keyring.blind_index(values["email"])
    session.flush()
    if changed:
        session.execute(update(PersonalField), changed)
    if new_rows:
        session.execute(insert(PersonalField), new_rows)
    audit.record(
        session,
        actor=actor,
        action="vault.rectify",
        subject_id=subject_id,
        details={"rectified": sorted(set(values) & set(have)), "completed": sorted(additions)},
        now=now,
    )
    return tuple(values)
