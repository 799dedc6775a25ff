"""Audiences read from the vault in bulk: who holds an address for a purpose, and the
addresses a role may write to, decided and decrypted a batch at a time (C9, Art. 21(3) GDPR).
Re-exported by `schutz.vault.service`.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, literal, select, tuple_
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.consent import service as ledger
from schutz.errors import IntegrityCheckError
from schutz.policy.engine import CLEAR, Engine, SubjectState
from schutz.vault.access import FIELDS, SUBJECTS
from schutz.vault.crypto import FieldCipher
from schutz.vault.keys import Keyring


def subjects_for_purpose(
    session: Session, purpose: str, *, field: str | None = None, batch_size: int = 5000
) -> Iterator[str]:
    """Ids of subjects holding a field collected for `purpose` (only `field` if given), by id.

    Reads ids and purpose lists only, never a ciphertext. Keyset pagination: each page is a
    short query after the last key seen, so no cursor stays open while the caller commits
    between pages and memory stays flat at any size. Erased subjects hold no fields.
    """
    after_subject, after_field, last_yielded = "", "", ""
    while True:
        query = select(FIELDS.c.subject_id, FIELDS.c.field, FIELDS.c.purposes)
        if field is not None:
            query = query.where(FIELDS.c.field == field, FIELDS.c.subject_id > after_subject)
        else:
            key = tuple_(FIELDS.c.subject_id, FIELDS.c.field)
            query = query.where(key > tuple_(literal(after_subject), literal(after_field)))
        rows = session.execute(
            query.order_by(FIELDS.c.subject_id, FIELDS.c.field).limit(batch_size)
        ).all()
        for subject_id, _, purposes in rows:
            if subject_id != last_yielded and purpose in purposes:
                last_yielded = subject_id
                yield subject_id
        if len(rows) < batch_size:
            return
        after_subject, after_field = rows[-1].subject_id, rows[-1].field


def read_emails_for_purpose(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    subject_ids: Collection[str],
    purpose: str,
    *,
    role: str,
    actor: str,
    now: datetime,
) -> list[tuple[str, str]]:
    """`(subject_id, email)` of those in `subject_ids` that `role` may write to for `purpose`.

    The batched form of `read_subject` for audiences. For each subject the decision engine
    decides from the consent ledger's state of `purpose` (consents, objections, read here
    in one query for the batch, never taken from the caller; a subject with no say counts
    as having said nothing) plus the vault's own restriction marker (Art. 18),
    and purpose binding applies (Art. 5(1)(b), C9): the address must have been collected for
    `purpose` unless the subject consented to it. Each data key is unwrapped once. The whole
    batch is ONE audit entry (`vault.read`, no subject): the number asked for, read and
    refused by rule, and the ids read. Listing the ids keeps accountability (Art. 5(2))
    per subject: who was in which audience when can be shown, e.g. to prove an objector
    (Art. 21(3)) was left out, and the log can answer an access request about its own
    reads. Ids are pseudonymous and already name subjects in every other entry; no
    address ever goes in. Subjects refused, erased or without an address are left out.
    """
    found: list[tuple[str, str]] = []
    ids = list(dict.fromkeys(subject_ids))
    refused: dict[str, int] = {}
    if ids:
        rows = _address_rows(session, ids)
        states = _ledger_states(session, rules, purpose, ids)
        found, refused = _decide_and_decrypt(rules, keyring, rows, purpose, role, states)
        missing = len(ids) - len(found) - sum(refused.values())
        if missing:
            refused["no_address"] = missing
    details: dict[str, Any] = {
        "role": role,
        "fields": ["email"],
        "batch_size": len(ids),
        "count": len(found),
        "refused": refused,
        "subject_ids": [subject_id for subject_id, _ in found],
    }
    audit.record(
        session,
        actor=actor,
        action="vault.read",
        purpose=purpose,
        details=details,
        flagged="integrity" in refused,  # a field that fails its check is for the DPO
        now=now,
    )
    return found


def _address_rows(session: Session, ids: list[str]) -> Sequence[Any]:
    """Key and sealed address of each live subject of `ids`, in one Core query by id."""
    return (
        session.connection()
        .execute(
            select(
                SUBJECTS.c.id,
                SUBJECTS.c.wrapped_key,
                SUBJECTS.c.master_key_id,
                SUBJECTS.c.key_version,
                SUBJECTS.c.restricted_at.is_not(None),
                FIELDS.c.category,
                FIELDS.c.ciphertext,
                FIELDS.c.key_version,
                # As text: decoded once per distinct list, not once per row.
                sql_cast(FIELDS.c.purposes, Text),
            )
            .join(FIELDS, and_(FIELDS.c.subject_id == SUBJECTS.c.id, FIELDS.c.field == "email"))
            .where(SUBJECTS.c.id.in_(ids), SUBJECTS.c.erased_at.is_(None))
            .order_by(SUBJECTS.c.id)
        )
        .all()
    )


def _ledger_states(
    session: Session, rules: Engine, purpose: str, ids: list[str]
) -> dict[str, SubjectState]:
    """The engine's view of what the consent ledger says about `purpose`, per subject."""
    said = ledger.states_for_subjects(session, rules.policy, purpose, ids)
    views: dict[ledger.ConsentState, SubjectState] = {}
    states: dict[str, SubjectState] = {}
    for subject_id, state in said.items():
        view = views.get(state)
        if view is None:
            view = views[state] = ledger.state_for_engine(rules.policy, {purpose: state})
        states[subject_id] = view
    return states


def _decide_and_decrypt(
    rules: Engine,
    keyring: Keyring,
    rows: Iterable[Sequence[Any]],
    purpose: str,
    role: str,
    states: Mapping[str, SubjectState],
) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """Apply the engine's answer to each row and decrypt the allowed addresses.

    The engine's answer depends only on the packed state bits, so it is worked out once per
    distinct state, not once per subject: an audience of a million has a handful of states.
    """
    unwrap = keyring.unwrapper()
    answers: dict[tuple[int, bool], tuple[str | None, bool]] = {}
    collected_for: dict[str, bool] = {}
    found: list[tuple[str, str]] = []
    refused: dict[str, int] = {}
    for subject_id, wrapped, key_id, version, restricted, category, blob, used, listed in rows:
        state = states.get(subject_id, CLEAR)
        key = (state.bits(purpose), restricted)
        answer = answers.get(key)
        if answer is None:
            answer = answers[key] = _answer(rules, role, purpose, state, restricted=restricted)
        rule, bound = answer
        if rule is None and not bound:
            cached = collected_for.get(listed)
            if cached is None:
                cached = collected_for[listed] = purpose in json.loads(listed)
            rule = None if cached else "purpose_binding"
        if rule is None and (wrapped is None or key_id is None):
            rule = "erased"
        if rule is None:
            cipher = FieldCipher(
                unwrap(wrapped, subject_id, key_id), subject_id=subject_id, key_version=version
            )
            try:
                found.append((subject_id, cipher.decrypt("email", category, blob, used)))
                continue
            except IntegrityCheckError:
                rule = "integrity"
        refused[rule] = refused.get(rule, 0) + 1
    return found, refused


def _answer(
    rules: Engine, role: str, purpose: str, state: SubjectState, *, restricted: bool
) -> tuple[str | None, bool]:
    """(the rule that refuses, or None; whether purpose binding is already satisfied)."""
    if restricted:
        state = SubjectState.of(consented=state.consented, objected=state.objected, restricted=True)
    decision = rules.check(role, purpose, state)
    if not decision.allowed:
        return decision.rule, False
    if decision.needs_justification:  # exception purposes have no audiences
        return "justification", False
    if "email" not in rules.readable_fields(role, purpose, state):
        return "fields", False
    return None, purpose in state.consented
