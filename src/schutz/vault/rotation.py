"""Master-key rotation: re-wrap every data key under the active master key, in batches.

Only the small wrapped data keys change; field ciphertexts stay as they are. Each batch is
its own transaction, so an interrupted rotation resumes where it stopped: the subjects still
wrapped under an older key are exactly the work left. The blind index is recomputed under
the new index key in the same step (Art. 32(1) GDPR: keys are renewed without downtime).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.vault import identities
from schutz.vault.crypto import FieldCipher, IntegrityCheckError
from schutz.vault.keys import Keyring
from schutz.vault.models import PersonalField, Subject


def _pending(keyring: Keyring) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return Subject.wrapped_key.is_not(None), Subject.master_key_id != keyring.active.key_id


def pending_rewraps(session: Session, keyring: Keyring) -> int:
    """How many data keys are still wrapped under a master key other than the active one."""
    return int(session.scalar(select(func.count()).where(*_pending(keyring))) or 0)


def keys_in_use(session: Session) -> set[str]:
    """Ids of the master keys some data key is wrapped under."""
    rows = session.scalars(
        select(Subject.master_key_id).where(Subject.master_key_id.is_not(None)).distinct()
    )
    return {key for key in rows if key is not None}


def rewrap_keys(
    session: Session, keyring: Keyring, *, batch_size: int, actor: str, now: datetime
) -> int:
    """Re-wrap up to `batch_size` data keys under the active master key; returns how many.

    The caller commits after each batch and calls again until it returns 0.
    """
    active = keyring.active
    subjects = list(
        session.scalars(
            select(Subject)
            .where(*_pending(keyring))
            .order_by(Subject.id)
            .limit(batch_size)
            .with_for_update()
        )
    )
    if not subjects:
        return 0
    rows = session.execute(
        select(PersonalField.subject_id, PersonalField).where(
            PersonalField.subject_id.in_([s.id for s in subjects]), PersonalField.field == "email"
        )
    )
    emails: dict[str, PersonalField] = {subject_id: row for subject_id, row in rows}  # noqa: C416 - rows are Row objects, dict(rows) loses the types
    moved_from: dict[str, int] = {}
    unindexed: list[str] = []
    unwrappable: list[str] = []
    for subject in subjects:
        old_key_id = str(subject.master_key_id)
        outcome = _rewrap(session, keyring, subject, emails.get(subject.id))
        if outcome == "erased":
            continue  # erased meanwhile; the query filtered these out
        if outcome == "unwrappable":
            unwrappable.append(subject.id)  # left under its old key, reported below
            continue
        moved_from[old_key_id] = moved_from.get(old_key_id, 0) + 1
        if outcome == "unindexed":
            unindexed.append(subject.id)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="vault.keys_rewrapped",
        details={
            "count": len(subjects) - len(unwrappable),
            "to": active.key_id,
            "from": moved_from,
            "index_not_renewed": unindexed,
            "key_fails_check": unwrappable,
        },
        flagged=bool(unindexed or unwrappable),
        now=now,
    )
    return len(subjects) - len(unwrappable)


def _rewrap(
    session: Session, keyring: Keyring, subject: Subject, email: PersonalField | None
) -> str:
    """Wrap `subject`'s data key under the active key and renew its blind indexes (the
    e-mail address's and the custom identities').

    Returns "done", "erased" (no key left to wrap), "unwrappable" (the wrapped key fails
    its check: left as it was) or "unindexed" (re-wrapped, but the address fails its check,
    so the old index stays, found while its key stays in the keyring; the caller audits it).
    """
    if subject.wrapped_key is None or subject.master_key_id is None:
        return "erased"
    try:
        data_key = keyring.unwrap(
            subject.wrapped_key, subject_id=subject.id, key_id=subject.master_key_id
        )
    except IntegrityCheckError:
        return "unwrappable"
    subject.master_key_id, subject.wrapped_key = keyring.wrap(data_key, subject_id=subject.id)
    cipher = FieldCipher(data_key, subject_id=subject.id, key_version=subject.key_version)
    try:
        identities.reindex(session, keyring, cipher, subject.id)
    except IntegrityCheckError:
        return "unindexed"
    if email is None or subject.email_index is None:
        return "done"
    try:
        plain = cipher.decrypt(email.field, email.category, email.ciphertext, email.key_version)
    except IntegrityCheckError:
        return "unindexed"
    subject.email_index = keyring.blind_index(plain)
    return "done"
