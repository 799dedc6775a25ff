"""What the vault holds about one subject, decrypted for the subject's own rights.

Art. 15 GDPR gives the subject a copy of *all* their data, whatever purpose it was
collected for, so this reads past the vault's purpose binding (which guards staff and
processors, not the subject). It also seals request texts under the subject's data key, so
that an erasure shreds them with everything else.

Owned here until the vault offers the same through `schutz.vault.service`
(`subject_fields`, `seal_for_subject`); only public vault classes are used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.errors import NotFound
from schutz.vault.crypto import FieldCipher
from schutz.vault.keys import Keyring
from schutz.vault.models import LegalHold, PersonalField, Subject

SEALED_FIELD = "request.details"


@dataclass(frozen=True, slots=True)
class HeldField:
    field: str
    category: str
    value: str
    source: str
    purposes: tuple[str, ...]
    policy_version: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class HeldHold:
    hold: str
    reference: str
    lapses_on: date


@dataclass(frozen=True, slots=True)
class Holdings:
    subject_id: str
    fields: tuple[HeldField, ...]
    holds: tuple[HeldHold, ...]
    restricted_at: datetime | None
    erasure_due_on: date | None

    def value(self, name: str) -> str | None:
        return next((f.value for f in self.fields if f.field == name), None)


def live_subject(session: Session, subject_id: str) -> Subject:
    subject = session.get(Subject, subject_id)
    if subject is None or subject.erased_at is not None:
        raise NotFound("no such subject")
    return subject


def _cipher(keyring: Keyring, subject: Subject) -> FieldCipher:
    if subject.wrapped_key is None or subject.master_key_id is None:
        raise NotFound("no such subject")
    key = keyring.unwrap(subject.wrapped_key, subject_id=subject.id, key_id=subject.master_key_id)
    return FieldCipher(key, subject_id=subject.id, key_version=subject.key_version)


def read_holdings(
    session: Session, keyring: Keyring, subject_id: str, *, actor: str, reason: str, now: datetime
) -> Holdings:
    """Every field of the subject, decrypted, with its source, purposes and dates; audited."""
    subject = live_subject(session, subject_id)
    cipher = _cipher(keyring, subject)
    rows = session.scalars(
        select(PersonalField)
        .where(PersonalField.subject_id == subject_id)
        .order_by(PersonalField.field)
    ).all()
    fields = tuple(
        HeldField(
            field=row.field,
            category=row.category,
            value=cipher.decrypt(row.field, row.category, row.ciphertext, row.key_version),
            source=row.source,
            purposes=tuple(row.purposes),
            policy_version=row.policy_version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        for row in rows
    )
    holds = tuple(
        HeldHold(h.hold, h.reference, h.lapses_on)
        for h in session.scalars(
            select(LegalHold).where(LegalHold.subject_id == subject_id).order_by(LegalHold.id)
        )
    )
    audit.record(
        session,
        actor=actor,
        action="request.subject_read",
        subject_id=subject_id,
        details={"reason": reason, "fields": [f.field for f in fields]},
        now=now,
    )
    return Holdings(subject_id, fields, holds, subject.restricted_at, subject.erasure_due_on)


def subject_email(session: Session, keyring: Keyring, subject_id: str) -> str | None:
    """The subject's current address, to answer them; None once erased or never given."""
    subject = session.get(Subject, subject_id)
    if subject is None or subject.erased_at is not None:
        return None
    row = session.scalars(
        select(PersonalField).where(
            PersonalField.subject_id == subject_id, PersonalField.field == "email"
        )
    ).first()
    if row is None:
        return None
    return _cipher(keyring, subject).decrypt(
        row.field, row.category, row.ciphertext, row.key_version
    )


def seal(session: Session, keyring: Keyring, subject_id: str, text: str) -> bytes:
    """`text` encrypted under the subject's data key: shredded by the subject's erasure."""
    cipher = _cipher(keyring, live_subject(session, subject_id))
    return cipher.encrypt(SEALED_FIELD, SEALED_FIELD, text)


def unseal(session: Session, keyring: Keyring, subject_id: str, blob: bytes) -> str | None:
    """The text sealed by `seal`, or None once the subject is erased."""
    subject = session.get(Subject, subject_id)
    if subject is None or subject.erased_at is not None or subject.wrapped_key is None:
        return None
    cipher = _cipher(keyring, subject)
    return cipher.decrypt(SEALED_FIELD, SEALED_FIELD, blob, subject.key_version)


def is_live(session: Session, subject_id: str) -> bool:
    subject = session.get(Subject, subject_id)
    return subject is not None and subject.erased_at is None


def running_holds(session: Session, subject_id: str, today: date) -> tuple[HeldHold, ...]:
    """The legal holds on the subject that have not lapsed by `today`."""
    rows = session.scalars(
        select(LegalHold).where(LegalHold.subject_id == subject_id, LegalHold.lapses_on > today)
    )
    return tuple(HeldHold(h.hold, h.reference, h.lapses_on) for h in rows)
