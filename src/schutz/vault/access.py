"""What other domains may ask of the vault besides intake and purpose-checked reads.

Subject requests, newsletters and the mail outbox need more than `read_subject`: the whole
record for an access request (Art. 15 GDPR), texts sealed under a subject's key so that an
erasure shreds them too (Art. 17), and audiences read in bulk. They get it here, through
functions, so that no other domain reads the vault's tables (STYLE.md: cross-domain calls go
through the other domain's service). Re-exported by `schutz.vault.service`.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, Text, and_, literal, select, tuple_
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.consent import service as ledger
from schutz.errors import InvalidInput
from schutz.policy.engine import CLEAR, Engine, SubjectState
from schutz.vault.crypto import FieldCipher, IntegrityCheckError
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
        rows = (
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
