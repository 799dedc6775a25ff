"""Who may be written to for a marketing purpose right now, streamed with their address.

newsletter: confirmed and not withdrawn (double opt-in, UWG §7). direct_marketing and
market_research: everyone whose address was collected for the purpose, except objectors
(Art. 21(2)-(3) GDPR). On top of that every address goes through the vault's purpose-checked
read, so whatever the decision engine says (restriction, erasure, roles) applies too, and
each read is audited. Subjects are taken in batches: memory stays flat at any size.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from itertools import islice

from sqlalchemy import select
from sqlalchemy.orm import Session

from schutz.consent.service import ConsentState, needs_confirmation, states_for_purpose
from schutz.errors import Denied, InvalidInput, NotFound
from schutz.policy.engine import Engine
from schutz.vault import service as vault
from schutz.vault.keys import Keyring
from schutz.vault.models import PersonalField, Subject

AUDIENCE_PURPOSES = ("newsletter", "direct_marketing", "market_research")
BATCH = 1000


def _email_holders(session: Session, purpose: str, batch: int) -> Iterator[str]:
    """Ids of live subjects whose e-mail address was collected for `purpose`, by id.

    The vault offers no listing by purpose yet, so this reads its id and purpose columns
    (never a ciphertext); the addresses themselves come through `vault.read_subject`.
    """
    rows = session.execute(
        select(PersonalField.subject_id, PersonalField.purposes)
        .join(Subject, Subject.id == PersonalField.subject_id)
        .where(PersonalField.field == "email", Subject.erased_at.is_(None))
        .order_by(PersonalField.subject_id)
        .execution_options(yield_per=batch)
    )
    for subject_id, purposes in rows:
        if purpose in purposes:
            yield subject_id


def _candidates(
    session: Session, rules: Engine, purpose: str, batch: int
) -> Iterator[tuple[str, bool]]:
    """`(subject_id, consented)` for every subject the purpose may reach, by id."""
    states = states_for_purpose(session, rules.policy, purpose, batch_size=batch)
    if rules.policy.purposes[purpose].requires_consent:
        unconfirmed_counts = not needs_confirmation(rules.policy, purpose)
        for subject_id, state in states:
            if state is ConsentState.CONFIRMED or (
                state is ConsentState.GRANTED and unconfirmed_counts
            ):
                yield subject_id, True
        return
    # Merge two streams ordered by id: holders of an address, and the ledger's say.
    said = iter(states)
    pending = next(said, None)
    for subject_id in _email_holders(session, purpose, batch):
        while pending is not None and pending[0] < subject_id:
            pending = next(said, None)
        said_now = pending[1] if pending is not None and pending[0] == subject_id else None
        if said_now is ConsentState.OBJECTED:
            continue
        yield subject_id, said_now in (ConsentState.GRANTED, ConsentState.CONFIRMED)


def check_audience(rules: Engine, purpose: str, role: str) -> None:
    """Raise `InvalidInput` unless `purpose` has an audience, `Denied` unless `role` may use it."""
    if purpose not in rules.policy.purposes:
        raise InvalidInput(f"{purpose!r} is not a purpose of the privacy policy")
    if purpose not in AUDIENCE_PURPOSES:
        allowed = ", ".join(AUDIENCE_PURPOSES)
        raise InvalidInput(f"{purpose!r} has no audience; audiences exist for: {allowed}")
    if rules.check(role, purpose).rule == "role":
        raise Denied(f"role {role!r} may not process data for {purpose!r}", reason="role")


def audience_batches(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    purpose: str,
    *,
    actor: str,
    role: str,
    now: datetime,
    batch_size: int = BATCH,
    reader: Session | None = None,
) -> Iterator[list[tuple[str, str]]]:
    """`audience`, a batch at a time, so that the caller can commit between batches.

    The candidates are streamed through `reader` (default `session`); pass a second session
    to commit `session` between batches while the candidates' cursor stays open.
    """
    check_audience(rules, purpose, role)
    candidates = _candidates(reader or session, rules, purpose, batch_size)
    while batch := list(islice(candidates, batch_size)):
        found: list[tuple[str, str]] = []
        for subject_id, consented in batch:
            try:
                data = vault.read_subject(
                    session,
                    rules,
                    keyring,
                    subject_id,
                    purpose,
                    actor=actor,
                    role=role,
                    consented=(purpose,) if consented else (),
                    now=now,
                ).data
            except (Denied, NotFound):
                continue
            if data.get("email"):
                found.append((subject_id, data["email"]))
        yield found


def audience(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    purpose: str,
    *,
    actor: str,
    role: str,
    now: datetime,
    batch_size: int = BATCH,
) -> Iterator[tuple[str, str]]:
    """Stream `(subject_id, email)` of everyone `role` may write to for `purpose` now.

    Raises `InvalidInput` for a purpose that is not a marketing audience and `Denied` for a
    role that may not use it. Each address is a purpose-checked, audited read; a subject the
    engine refuses (restricted, erased, objected in the meantime) is left out. The caller
    commits.
    """
    for batch in audience_batches(
        session, rules, keyring, purpose, actor=actor, role=role, now=now, batch_size=batch_size
    ):
        yield from batch
