"""Finding a subject and reading its fields for a purpose, as the decision engine allows (C9).

Every read, allowed or refused, is audited in the caller's transaction (Art. 5(2) GDPR); the
consent state comes from the consent ledger, read here, never from the caller.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.consent import service as ledger
from schutz.errors import Denied, IntegrityCheckError, InvalidInput, NotFound
from schutz.policy.engine import Decision, Engine
from schutz.vault.crypto import FieldCipher
from schutz.vault.intake import id_by_email
from schutz.vault.keys import Keyring
from schutz.vault.models import PersonalField, Subject
from schutz.vault.subject_keys import cipher_of, live_subject
from schutz.vault.validation import normalise_email

JUSTIFICATION_FIELD = "audit.justification"


@dataclass(frozen=True, slots=True)
class SubjectData:
    """The fields of one subject a read was allowed to see, flat (`postal_address.city`)."""

    subject_id: str
    purpose: str
    data: dict[str, str]
    flagged: bool


def find_by_email(session: Session, keyring: Keyring, email: str) -> Subject | None:
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
    subject = find_by_email(session, keyring, normalised) if normalised else None
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
    decision = rules.check(role, purpose, state)
    common = _Who(actor=actor, subject_id=subject_id, purpose=purpose, now=now)
    justification = (justification or "").strip()
    _check_read(session, decision, purpose, justification, common)
    readable = rules.readable_fields(role, purpose, state)
    bound = decision.needs_justification or purpose in state.consented
    rows = [r for r in _stored(session, subject_id, readable) if bound or purpose in r.purposes]
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
    data = _decrypt(session, cipher, rows, common)
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


def _stored(session: Session, subject_id: str, fields: Iterable[str]) -> Sequence[Any]:
    """The subject's sealed rows of `fields`, with the purposes each was collected for."""
    return session.execute(_STORED, {"subject_id": subject_id, "fields": list(fields)}).all()


_STORED = select(
    PersonalField.field,
    PersonalField.category,
    PersonalField.ciphertext,
    PersonalField.key_version,
    PersonalField.purposes,
).where(
    PersonalField.subject_id == bindparam("subject_id"),
    PersonalField.field.in_(bindparam("fields", expanding=True)),
)
"""Built once, as every read runs it (its cache key is then computed once)."""


def _check_read(
    session: Session, decision: Decision, purpose: str, justification: str, common: _Who
) -> None:
    """Raise (audited) when the engine refuses, or an exception purpose lacks its reason."""
    if not decision.allowed:
        raise _refuse(session, rule=decision.rule, reason=decision.reason, flagged=False, **common)
    if decision.needs_justification and not justification:
        raise _refuse(
            session,
            rule="justification",
            reason=f"{purpose!r} is an exception purpose (C9): a written justification is"
            " required (X-Schutz-Justification)",
            flagged=True,
            **common,
        )


def _decrypt(
    session: Session, cipher: FieldCipher, rows: Sequence[Any], common: _Who
) -> dict[str, str]:
    """The rows' plaintexts; a field failing its check is audited, flagged and raised."""
    data: dict[str, str] = {}
    for row in rows:
        try:
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
    return data


def reveal_justification(session: Session, keyring: Keyring, subject_id: str, sealed: str) -> str:
    """The plaintext of a justification kept in an audit entry (for the DPO's review)."""
    cipher = cipher_of(keyring, live_subject(session, subject_id))
    blob = base64.b64decode(sealed)
    return cipher.decrypt(JUSTIFICATION_FIELD, JUSTIFICATION_FIELD, blob, cipher.key_version)
