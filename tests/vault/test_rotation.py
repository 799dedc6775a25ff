"""Master-key rotation re-wraps data keys in batches and resumes after an interruption."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from records import NOW, customer, take_order
from schutz.audit.service import verify
from schutz.config import Settings
from schutz.policy.engine import Engine
from schutz.vault import service
from schutz.vault.keys import Keyring, add_master_key, load_keyring, retire_master_keys
from schutz.vault.models import Subject
from schutz.vault.rotation import keys_in_use


def test_rotation_rewraps_in_batches_and_everything_stays_readable(
    session: Session, rules: Engine, keyring: Keyring, settings: Settings
) -> None:
    ids = [
        take_order(session, rules, keyring, customer(email=f"c{i}@example.org")).subject_id
        for i in range(5)
    ]
    session.commit()
    old = keyring.active.key_id
    ring = add_master_key(settings)
    assert service.pending_rewraps(session, ring) == 5
    assert service.rewrap_keys(session, ring, batch_size=2, actor="cli", now=NOW) == 2
    session.commit()
    # Interrupted here: half the subjects are under each key, and both still work.
    assert service.pending_rewraps(session, ring) == 3
    assert keys_in_use(session) == {old, ring.active.key_id}
    for i, subject_id in enumerate(ids):
        assert (
            service.find_subject(session, ring, f"c{i}@example.org", actor="t", now=NOW)
            == subject_id
        )
    # Resumed: the rest, then nothing is left.
    while service.rewrap_keys(session, ring, batch_size=2, actor="cli", now=NOW):
        session.commit()
    assert service.pending_rewraps(session, ring) == 0
    assert keys_in_use(session) == {ring.active.key_id}
    ring = retire_master_keys(settings, {old})
    assert load_keyring(settings).keys == (ring.active,)
    for i, subject_id in enumerate(ids):
        assert (
            service.find_subject(session, ring, f"c{i}@example.org", actor="t", now=NOW)
            == subject_id
        )
        got = service.read_subject(
            session, rules, ring, subject_id, "order_processing", actor="t", role="shop", now=NOW
        )
        assert got.data["email"] == f"c{i}@example.org"
    wrapped = session.scalars(select(Subject.master_key_id)).all()
    assert set(wrapped) == {ring.active.key_id}
    assert verify(session).ok


def test_intake_during_a_rotation_finds_a_subject_indexed_under_the_old_key(
    session: Session, rules: Engine, keyring: Keyring, settings: Settings
) -> None:
    first = take_order(session, rules, keyring)
    ring = add_master_key(settings)
    again = take_order(session, rules, ring)
    assert again.subject_id == first.subject_id
    assert not again.created
    subject = session.get(Subject, first.subject_id)
    assert subject is not None
    assert subject.email_index == ring.blind_index("ada.lovelace@example.org")
