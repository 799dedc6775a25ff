"""Audience paging: the ledger's paged state queries agree with `derive_state`; the
batched vault reads cover everyone once."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from schutz.audit.keys import audit_key_for
from schutz.audit.models import AuditEntry
from schutz.audit.service import verify
from schutz.consent.models import ConsentEvent
from schutz.consent.service import (
    state_batches_for_purpose,
    states_for_purpose,
    states_for_subjects,
)
from schutz.newsletter.audience import audience_batches, parallel_audience_batches
from schutz.policy.engine import Engine
from schutz.vault import service as vault
from schutz.vault.keys import Keyring

from .conftest import NOW

PURPOSES = ["newsletter", "direct_marketing", "market_research", "order_processing"]
ACTIONS = ["grant", "confirm", "withdraw", "object"]


def _random_ledger(session: Session, seed: int, subjects: int) -> None:
    rng = random.Random(seed)
    rows = []
    for s in range(subjects):
        for k in range(rng.randint(1, 7)):
            rows.append(
                {
                    "subject_id": f"{s:032x}",
                    "purpose": rng.choice(PURPOSES),
                    "action": rng.choice(ACTIONS),
                    "channel": "web",
                    "policy_version": "t",
                    "recorded_by": "t",
                    "at": NOW + timedelta(seconds=k),
                }
            )
    session.execute(insert(ConsentEvent), rows)
    session.flush()


@pytest.mark.parametrize("purpose", ["newsletter", "direct_marketing", "order_processing"])
@pytest.mark.parametrize("page", [1, 3, 1000])
def test_paged_states_match_the_reference_fold(
    session: Session, rules: Engine, purpose: str, page: int
) -> None:
    _random_ledger(session, seed=page, subjects=40)
    expected = list(states_for_purpose(session, rules.policy, purpose))
    paged = [
        pair
        for batch in state_batches_for_purpose(session, rules.policy, purpose, batch_size=page)
        for pair in batch
    ]
    assert paged == expected
    ids = [f"{s:032x}" for s in range(40)]
    assert states_for_subjects(session, rules.policy, purpose, ids) == dict(expected)


def test_audience_pages_cover_everyone_once_with_one_audit_entry_per_batch(
    session: Session, rules: Engine, keyring: Keyring
) -> None:
    ids = [
        vault.intake(
            session, rules, keyring, source="registration", purposes=["direct_marketing"],
            data={"email": f"m{i}@example.org"}, asserted_by="shop", actor="t", now=NOW,
        ).subject_id
        for i in range(5)
    ]  # fmt: skip
    vault.restrict_subject(session, ids[4], actor="t", reason="accuracy_contested", now=NOW)
    batches = list(
        audience_batches(
            session, rules, keyring, "direct_marketing",
            actor="t", role="marketing", now=NOW, batch_size=2,
        )
    )  # fmt: skip
    assert len(batches) == 3
    assert sorted(s for b in batches for s, _ in b) == sorted(ids[:4])
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "vault.read")).all()
    assert [e.details["batch_size"] for e in entries] == [2, 2, 1]
    assert [e.details["refused"] for e in entries if e.details["refused"]] == [{"restricted": 1}]


@pytest.mark.slow
def test_the_audience_read_over_worker_processes_is_the_same_and_audited_alike(
    session: Session, rules: Engine, keyring: Keyring, db_url: str
) -> None:
    ids = [
        vault.intake(
            session, rules, keyring, source="registration", purposes=["direct_marketing"],
            data={"email": f"p{i}@example.org"}, asserted_by="shop", actor="t", now=NOW,
        ).subject_id
        for i in range(7)
    ]  # fmt: skip
    vault.restrict_subject(session, ids[6], actor="t", reason="accuracy_contested", now=NOW)
    session.commit()
    serial = list(
        audience_batches(
            session, rules, keyring, "direct_marketing",
            actor="t", role="marketing", now=NOW, batch_size=2,
        )
    )  # fmt: skip
    session.rollback()  # the serial read's audit entries are not what is counted below
    spread = list(
        parallel_audience_batches(
            session, rules, keyring, "direct_marketing", database_url=db_url,
            audit_key=audit_key_for(session), actor="t", role="marketing", now=NOW,
            workers=2, batch_size=2,
        )
    )  # fmt: skip
    assert spread == serial
    assert sorted(s for b in spread for s, _ in b) == sorted(ids[:6])
    session.expire_all()
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "vault.read").order_by(AuditEntry.seq)
    ).all()
    assert sorted(e.details["batch_size"] for e in entries) == [1, 2, 2, 2]
    assert verify(session).ok
