"""What other domains may ask of the vault besides intake and purpose-checked reads.

Subject requests, newsletters and the mail outbox need more than `read_subject`: the whole
record for an access request (Art. 15 GDPR), texts sealed under a subject's key so that an
erasure shreds them too (Art. 17); audiences read in bulk are in `audiences.py`. They get
it through functions, so that no other domain reads the vault's tables (STYLE.md:
cross-domain calls go through the other domain's service). Re-exported by
`schutz.vault.service`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.errors import InvalidInput
from schutz.vault.crypto import FieldCipher
from schutz.vault.keys import Keyring
from schutz.vault.models import LegalHold, PersonalField, Subject
from schutz.vault.subject_keys import cipher_of, live_subject

SUBJECTS = cast(Table, Subject.__table__)
FIELDS = cast(Table, PersonalField.__table__)
HOLDS = cast(Table, LegalHold.__table__)
ACCESS_EXPORT = "vault.access_export"
"""Audit action of `subject_fields`: a read for the subject's own rights, not a purpose."""


@dataclass(frozen=True, slots=True)
class HeldField:
    """One stored field, decrypted, with where it came from and what it was collected for."""

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
    """A legal hold on the subject (Art. 17(3)(b) GDPR): what it keeps and until when."""

    hold: str
    reference: str
    lapses_on: date


@dataclass(frozen=True, slots=True)
class SubjectFields:
    """Everything the vault holds about one subject, for the subject's own eyes."""

    subject_id: str
    fields: tuple[HeldField, ...]
    holds: tuple[HeldHold, ...]
    restricted_at: datetime | None
    erasure_due_on: date | None

    def value(self, name: str) -> str | None:
        """The plaintext of field `name`, or None when it is not held."""
        return next((f.value for f in self.fields if f.field == name), None)


def is_live(session: Session, subject_id: str) -> bool:
    """True while the subject exists and is not erased (a held-back erasure is still live)."""
    subject = session.get(Subject, subject_id) if len(subject_id) <= 32 else None
    return subject is not None and subject.erased_at is None


def legal_holds(
    session: Session, subject_id: str, *, running_on: date | None = None
) -> tuple[HeldHold, ...]:
    """The subject's legal holds, oldest first; with `running_on`, only those not lapsed."""
    query = select(HOLDS.c.hold, HOLDS.c.reference, HOLDS.c.lapses_on).where(
        HOLDS.c.subject_id == subject_id
    )
    if running_on is not None:
        query = query.where(HOLDS.c.lapses_on > running_on)
    rows = session.execute(query.order_by(HOLDS.c.id))
    return tuple(HeldHold(r.hold, r.reference, r.lapses_on) for r in rows)


def subject_fields(
    session: Session,
    keyring: Keyring,
    subject_id: str,
    *,
    actor: str,
    now: datetime,
    reason: str = "access_request",
) -> SubjectFields:
    """Every field of the subject, decrypted, with category, source, purposes and dates.

    This read deliberately bypasses purpose binding (Art. 5(1)(b) GDPR): it is not a
    processing for one of the controller's purposes but the subject's right of access,
    which covers *all* their data whatever it was collected for, together with purposes,
    sources and storage (Art. 15(1)(a), (c)-(d), (g) and 15(3)). Only the subject-request
    flows may call it: the subject's verified access request, their own privacy centre, or
    rectification (Art. 16), which must show the subject what is held. It is audited as
    `vault.access_export` with `reason` (a short code such as `export:<request id>`, never
    free text) and the names of the fields read, never their values. Raises `NotFound` for
    an unknown or erased subject.
    """
    subject = live_subject(session, subject_id)
    cipher = cipher_of(keyring, subject)
    fields = _held_fields(session, cipher, subject_id)
    audit.record(
        session,
        actor=actor,
        action=ACCESS_EXPORT,
        subject_id=subject_id,
        details={"reason": reason, "basis": "Art. 15", "fields": [f.field for f in fields]},
        now=now,
    )
    return SubjectFields(
        subject_id,
        fields,
        legal_holds(session, subject_id),
        subject.restricted_at,
        subject.erasure_due_on,
    )


def _held_fields(session: Session, cipher: FieldCipher, subject_id: str) -> tuple[HeldField, ...]:
    """Every field of the subject, decrypted, with where it came from, by field name."""
    rows = session.execute(
        select(
            FIELDS.c.field,
            FIELDS.c.category,
            FIELDS.c.ciphertext,
            FIELDS.c.key_version,
            FIELDS.c.source,
            FIELDS.c.purposes,
            FIELDS.c.policy_version,
            FIELDS.c.created_at,
            FIELDS.c.updated_at,
        )
        .where(FIELDS.c.subject_id == subject_id)
        .order_by(FIELDS.c.field)
    )
    return tuple(
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


def contact_address(session: Session, keyring: Keyring, subject_id: str) -> str | None:
    """The subject's current e-mail address, to answer the subject themselves (Art. 12(3)).

    None once erased or never given. Not audited on its own: the caller audits the answer
    it sends (a request step, a sealed outbox mail), which is the processing that counts.
    """
    subject = session.get(Subject, subject_id) if len(subject_id) <= 32 else None
    if subject is None or subject.erased_at is not None or subject.wrapped_key is None:
        return None
    row = session.execute(
        select(FIELDS.c.category, FIELDS.c.ciphertext, FIELDS.c.key_version).where(
            FIELDS.c.subject_id == subject_id, FIELDS.c.field == "email"
        )
    ).first()
    if row is None:
        return None
    return cipher_of(keyring, subject).decrypt(
        "email", row.category, row.ciphertext, row.key_version
    )


def _check_context(context: str) -> None:
    if not context or len(context) > 64 or "|" in context:
        raise InvalidInput("a sealing context is a short name without '|'")


def seal_for_subject(
    session: Session, keyring: Keyring, subject_id: str, plaintext: bytes, *, context: str
) -> bytes:
    """`plaintext` under the subject's data key (AES-256-GCM): erasure shreds it too.

    The associated data binds the subject id, `context` (what the blob is: `outbox`,
    `request.details`, ...) and the data-key version, so a blob moved to another subject or
    another use fails to open. Destroying the data key on erasure (Art. 17 GDPR,
    crypto-shredding) makes every sealed copy unreadable wherever it is kept, backups
    included. Raises `NotFound` for an unknown or erased subject.
    """
    _check_context(context)
    cipher = cipher_of(keyring, live_subject(session, subject_id))
    return cipher.seal(context, plaintext)


def open_for_subject(
    session: Session, keyring: Keyring, subject_id: str, sealed: bytes, *, context: str
) -> bytes:
    """The plaintext sealed by `seal_for_subject` with the same `context`.

    Raises `NotFound` once the subject is erased (its key is gone, so nothing can be read)
    and `IntegrityCheckError` for a blob altered, moved or sealed for another context.
    """
    _check_context(context)
    cipher = cipher_of(keyring, live_subject(session, subject_id))
    return cipher.open(context, sealed)
