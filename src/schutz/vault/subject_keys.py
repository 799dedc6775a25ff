"""A subject's data key: found by id, unwrapped under the master keyring, never stored open.

One place unwraps subject keys, so that every domain that seals something under a subject
(fields, outbox mail, request texts, disclosure payloads) loses it with the same erasure
(Art. 17 GDPR, crypto-shredding): once the wrapped key is gone, `NotFound` is all anyone gets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from schutz.errors import NotFound
from schutz.vault.crypto import FieldCipher
from schutz.vault.models import Subject

if TYPE_CHECKING:  # the keyring imports this module's callers; only its type is needed here
    from schutz.vault.keys import Keyring

MAX_ID = 32


def live_subject(session: Session, subject_id: str) -> Subject:
    """The subject's row while it exists and is not erased; `NotFound` otherwise."""
    subject = session.get(Subject, subject_id) if len(subject_id) <= MAX_ID else None
    if subject is None or subject.erased_at is not None:
        raise NotFound("no such subject")
    return subject


def lock_subject(session: Session, subject_id: str) -> None:
    """Hold the subject's row for the rest of the transaction, before reading its state.

    A once-only change decided from what was read (a confirmation, say) must not be made
    twice by parallel requests: a row lock on PostgreSQL, the database's write lock on SQLite,
    both taken by a write that changes nothing; the next request reads what this one wrote.
    """
    if len(subject_id) <= MAX_ID:
        session.execute(update(Subject).where(Subject.id == subject_id).values(id=Subject.id))


def cipher_of(keyring: Keyring, subject: Subject) -> FieldCipher:
    """The subject's field cipher: its data key unwrapped once for the whole request."""
    if subject.wrapped_key is None or subject.master_key_id is None:
        raise NotFound(f"subject {subject.id} has been erased")
    data_key = keyring.unwrap(
        subject.wrapped_key, subject_id=subject.id, key_id=subject.master_key_id
    )
    return FieldCipher(data_key, subject_id=subject.id, key_version=subject.key_version)


def subject_cipher(session: Session, keyring: Keyring, subject_id: str) -> FieldCipher:
    """The cipher of `subject_id` read by id alone; `NotFound` once its key is shredded.

    Reads the key columns only, so a caller that seals many rows (an order's payloads)
    loads no ORM object for it.
    """
    row = session.execute(
        select(Subject.wrapped_key, Subject.master_key_id, Subject.key_version).where(
            Subject.id == subject_id
        )
    ).one_or_none()
    if row is None or row.wrapped_key is None or row.master_key_id is None:
        raise NotFound("the subject's data has been erased or never existed")
    data_key = keyring.unwrap(row.wrapped_key, subject_id=subject_id, key_id=row.master_key_id)
    return FieldCipher(data_key, subject_id=subject_id, key_version=row.key_version)
