"""Intake: who may hand in data for a source, finding or creating the subject, adding only
what is new. Re-exported by `schutz.vault.service`.

Write authority comes from the policy: each source names the roles and public forms that may
assert it, and an intake from anyone else is refused before anything is read or written.
For a known e-mail address intake only adds: fields not held yet, and the caller's purposes
for fields whose value it confirms. It never changes a stored value; that is rectification
(Art. 16 GDPR), asked for by the verified subject or handled by staff on a request.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.errors import Conflict, Denied, InvalidInput
from schutz.policy.engine import Engine
from schutz.vault import identities
from schutz.vault.crypto import FieldCipher, new_data_key
from schutz.vault.keys import Keyring
from schutz.vault.models import PersonalField, Subject
from schutz.vault.subject_keys import cipher_of, live_subject
from schutz.vault.validation import normalise_fields

SUBJECTS = cast(Table, Subject.__table__)
FIELDS = cast(Table, PersonalField.__table__)
SOURCE_AUTHORITY = "source_authority"
"""The rule a refused intake names: the caller may not assert this source."""


@dataclass(frozen=True, slots=True)
class IntakeResult:
    """What an intake did.

    `stored`: the fields now held as sent (written new, or already held with this value).
    `unchanged`: fields sent with a value other than the one held; the held value was kept,
    since only a rectification changes it.
    """

    subject_id: str
    stored: tuple[str, ...]
    created: bool
    unchanged: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    """The fields written new by this intake (all of `stored` for a new subject)."""


def id_by_email(session: Session, keyring: Keyring, email: str) -> str | None:
    """The subject id under the address's blind index (any key of the keyring)."""
    indexes = keyring.blind_indexes(email)
    match = (
        Subject.email_index == indexes[0] if len(indexes) == 1 else Subject.email_index.in_(indexes)
    )
    return session.scalar(select(Subject.id).where(match))


def check_authority(
    session: Session, rules: Engine, source: str, asserted_by: str, *, actor: str, now: datetime
) -> None:
    """Refuse (`Denied`, rule `source_authority`, audited) a caller the source does not name.

    `asserted_by` is the API key's or staff member's role, or a public form (`form:contact`).
    An unknown source is left to `check_intake`, which lists the known ones.
    """
    spec = rules.policy.sources.get(source)  # type: ignore[call-overload]
    if spec is None or asserted_by in spec.asserted_by:
        return
    reason = (
        f"{asserted_by!r} may not assert source {source!r}; the policy names"
        f" {', '.join(spec.asserted_by)} (write authority)"
    )
    audit.record(
        session,
        actor=actor,
        action="vault.intake_denied",
        details={"source": source, "asserted_by": asserted_by, "rule": SOURCE_AUTHORITY},
        flagged=True,
        now=now,
    )
    raise Denied(f"intake for source {source!r} is not allowed", reason, SOURCE_AUTHORITY)


def check_intake(rules: Engine, source: str, purposes: list[str], fields: Iterable[str]) -> None:
    """C1: the source must serve every purpose named, and bring only what they need."""
    spec = rules.policy.sources.get(source)  # type: ignore[call-overload]
    if spec is None:
        known = ", ".join(sorted(str(s) for s in rules.policy.sources))
        raise InvalidInput(f"source {source!r} is not in the policy; known sources: {known}")
    if not purposes:
        raise InvalidInput("purposes: name at least one purpose the data is collected for")
    foreign = [p for p in purposes if p not in spec.purposes]
    if foreign:
        raise InvalidInput(
            f"source {source!r} does not collect data for {', '.join(sorted(foreign))}"
            f" (C1); it serves {', '.join(spec.purposes)}"
        )
    allowed = rules.intake_fields(source, purposes)
    refused = sorted(set(fields) - allowed)
    if refused:
        raise InvalidInput(
            f"fields not allowed for source {source!r} and purposes {', '.join(purposes)}:"
            f" {', '.join(refused)} (C1); nothing was stored"
        )


def find_or_create_subject(
    session: Session, keyring: Keyring, email: str | None, *, now: datetime
) -> tuple[str, FieldCipher, bool]:
    """(subject id, its field cipher, created) for `email`; a new subject when unknown.

    New subjects go in with a Core statement; ON CONFLICT on the blind index finds a known
    address in the same round trip, so two intakes racing for one address meet in one row.
    """
    found = None
    if email is not None and len(keyring.keys) > 1:
        # A rotation is under way: the address may be indexed under the old key.
        found = id_by_email(session, keyring, email)
    if found is None:
        connection = session.connection()
        subject_id = uuid.uuid4().hex
        data_key = new_data_key()
        key_id, wrapped = keyring.wrap(data_key, subject_id=subject_id)
        row = {
            "id": subject_id,
            "created_at": now,
            "wrapped_key": wrapped,
            "master_key_id": key_id,
            "key_version": 1,
            "email_index": keyring.blind_index(email) if email is not None else None,
        }
        if email is None:
            connection.execute(insert(SUBJECTS).values(row))
            return subject_id, FieldCipher(data_key, subject_id=subject_id, key_version=1), True
        dialect_insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
        inserted = connection.execute(
            dialect_insert(SUBJECTS)
            .values(row)
            .on_conflict_do_nothing(index_elements=["email_index"])
            .returning(SUBJECTS.c.id)
        ).first()
        if inserted is not None:
            return subject_id, FieldCipher(data_key, subject_id=subject_id, key_version=1), True
        found = id_by_email(session, keyring, email)
        if found is None:  # erased between the two statements
            raise Conflict("this subject changed meanwhile; send the request again")
    subject = live_subject(session, found)
    if email is not None and subject.email_index != keyring.blind_index(email):
        subject.email_index = keyring.blind_index(email)  # indexed under a retired key
        session.flush()
    return found, cipher_of(keyring, subject), False


def _subject_for(
    session: Session,
    keyring: Keyring,
    email: str | None,
    idents: Mapping[str, str],
    now: datetime,
) -> tuple[str, FieldCipher, bool]:
    """The subject an intake is about: by e-mail, else by a custom identity, else new.

    An identity held by another subject than the address's is a `Conflict` (409): nothing
    is stored, and the answer does not say who holds it.
    """
    known = identities.owner_of(session, keyring, idents) if idents else None
    if email is None and known is not None:
        subject = live_subject(session, known)
        return known, cipher_of(keyring, subject), False
    found = find_or_create_subject(session, keyring, email, now=now)
    if idents:
        identities.check_free(session, keyring, found[0], idents)
    return found


def _held_rows(session: Session, subject_id: str, names: Iterable[str]) -> dict[str, Any]:
    """The stored rows of the fields in `names`, by field name."""
    rows = session.execute(
        select(
            PersonalField.id,
            PersonalField.field,
            PersonalField.category,
            PersonalField.ciphertext,
            PersonalField.key_version,
            PersonalField.purposes,
        ).where(PersonalField.subject_id == subject_id, PersonalField.field.in_(list(names)))
    )
    return {row.field: row for row in rows}


def merge_new_fields(
    session: Session,
    rules: Engine,
    cipher: FieldCipher,
    subject_id: str,
    values: Mapping[str, str],
    *,
    source: str,
    purposes: list[str],
    created: bool,
    now: datetime,
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Write the fields not held yet; for held ones, only add purposes.

    Returns (stored, unchanged, added): as `IntakeResult` names them.

    A held field whose value equals the one sent gains the caller's purposes: the subject
    gave that same value for them. A held field with another value keeps value and
    purposes; anyone who knows an address could otherwise overwrite its owner's data.
    """
    held = {} if created else _held_rows(session, subject_id, values)
    fields_map = rules.policy.field_categories
    origin = {"source": source, "purposes": purposes, "policy_version": rules.policy.version,
              "created_at": now, "updated_at": now}  # fmt: skip
    new_rows: list[dict[str, Any]] = []
    widened: list[dict[str, Any]] = []
    unchanged: list[str] = []
    for name, value in values.items():
        row = held.get(name)
        if row is None:
            category = fields_map[name]
            new_rows.append(
                {
                    "subject_id": subject_id,
                    "field": name,
                    "category": category,
                    "key_version": cipher.key_version,
                    "ciphertext": cipher.encrypt(name, category, value),
                    **origin,
                }
            )
        elif cipher.decrypt(name, row.category, row.ciphertext, row.key_version) != value:
            unchanged.append(name)
        elif any(p not in row.purposes for p in purposes):
            merged = row.purposes + [p for p in purposes if p not in row.purposes]
            widened.append({"id": row.id, "purposes": merged, "updated_at": now})
    if new_rows:
        session.connection().execute(insert(FIELDS), new_rows)
    if widened:
        session.execute(update(PersonalField), widened)
    stored = tuple(name for name in values if name not in unchanged)
    return stored, tuple(unchanged), tuple(row["field"] for row in new_rows)


def audit_intake(
    session: Session,
    rules: Engine,
    result: IntakeResult,
    *,
    source: str,
    purposes: list[str],
    asserted_by: str,
    actor: str,
    now: datetime,
) -> None:
    """One `vault.intake` entry: source, purposes, who asserted it, field names (no values)."""
    details: dict[str, Any] = {
        "source": source,
        "purposes": purposes,
        "asserted_by": asserted_by,
        "fields": list(result.stored),
        "created": result.created,
        "policy_version": rules.policy.version,
    }
    if result.unchanged:
        details["unchanged"] = list(result.unchanged)
    audit.record(
        session,
        actor=actor,
        action="vault.intake",
        subject_id=result.subject_id,
        details=details,
        now=now,
    )


def intake(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    *,
    source: str,
    purposes: list[str],
    data: Mapping[str, str],
    asserted_by: str,
    actor: str,
    now: datetime,
) -> IntakeResult:
    """Store what `source` collected for `purposes`, encrypted under the subject's key.

    `asserted_by` (a role, or a public form such as `form:contact`) must be one the policy
    names for the source, else `Denied` (audited) and nothing is stored. C1 / Art. 5(1)(b)-(c)
    GDPR: fields that no named purpose needs are refused (`InvalidInput`) before anything is
    written. A known e-mail address (found through the blind index) returns the same
    subject; fields not held are added, held values are never changed (`unchanged` names
    those sent with another value).
    """
    purposes = list(dict.fromkeys(purposes))
    check_authority(session, rules, source, asserted_by, actor=actor, now=now)
    check_intake(rules, source, purposes, data)
    values = normalise_fields(data, rules.policy.custom_fields)
    idents = identities.identities_in(rules.policy, values)
    identities.check_may_find(session, rules.policy, idents, role=asserted_by, actor=actor, now=now)
    subject_id, cipher, created = _subject_for(session, keyring, values.get("email"), idents, now)
    stored, unchanged, added = merge_new_fields(
        session, rules, cipher, subject_id, values,
        source=source, purposes=purposes, created=created, now=now,
    )  # fmt: skip
    identities.claim(session, keyring, subject_id, {n: idents[n] for n in stored if n in idents})
    result = IntakeResult(subject_id, stored, created, unchanged, added)
    audit_intake(
        session, rules, result,
        source=source, purposes=purposes, asserted_by=asserted_by, actor=actor, now=now,
    )  # fmt: skip
    return result
