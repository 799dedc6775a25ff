"""Rectification and completion of a subject's fields (Art. 16 GDPR).

Only the subject-request flows call this, for a verified request (invariant 1); a new field
is accepted only where a source the subject's data came from may bring it (C1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.errors import Conflict, InvalidInput
from schutz.policy.engine import Engine
from schutz.vault import identities
from schutz.vault.keys import Keyring
from schutz.vault.models import PersonalField, Subject
from schutz.vault.reads import find_by_email
from schutz.vault.subject_keys import cipher_of, live_subject
from schutz.vault.validation import normalise_fields


def rectify(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    subject_id: str,
    data: Mapping[str, str],
    *,
    actor: str,
    now: datetime,
) -> tuple[str, ...]:
    """Correct fields (Art. 16 GDPR, first sentence) or add missing ones (second sentence).

    A corrected field keeps its source and purposes. A new field is accepted only if a
    source the subject's data came from may bring it for the purposes already held (C1);
    otherwise 422 names it and nothing changes.
    """
    subject = live_subject(session, subject_id)
    values = normalise_fields(data, rules.policy.custom_fields)
    rows = _held(session, subject_id)
    have = {row.field: row for row in rows}
    additions = _additions(rules, rows, [name for name in values if name not in have])
    cipher = cipher_of(keyring, subject)
    fields_map = rules.policy.field_categories
    changed, new_rows = [], []
    for name, value in values.items():
        category = fields_map[name]
        blob = cipher.encrypt(name, category, value)
        sealed = {"ciphertext": blob, "category": category, "key_version": cipher.key_version}
        if name in have:
            changed.append({"id": have[name].id, **sealed, "updated_at": now})
        else:
            origin, purposes = additions[name]
            row = {"subject_id": subject_id, "field": name, **sealed, "source": origin}
            new_rows.append(
                {**row, "purposes": purposes, "policy_version": rules.policy.version}
                | {"created_at": now, "updated_at": now}
            )
    if "email" in values:
        _reindex(session, keyring, subject, values["email"])
    # A corrected identity is found under its new value; another subject's value is a 409.
    identities.claim(session, keyring, subject_id, identities.identities_in(rules.policy, values))
    session.flush()
    if changed:
        session.execute(update(PersonalField), changed)
    if new_rows:
        session.execute(insert(PersonalField), new_rows)
    audit.record(
        session,
        actor=actor,
        action="vault.rectify",
        subject_id=subject_id,
        details={"rectified": sorted(set(values) & set(have)), "completed": sorted(additions)},
        now=now,
    )
    return tuple(values)


def _held(session: Session, subject_id: str) -> Sequence[Any]:
    """Id, name, source and purposes of each field held, never a value."""
    return session.execute(
        select(
            PersonalField.id, PersonalField.field, PersonalField.source, PersonalField.purposes
        ).where(PersonalField.subject_id == subject_id)
    ).all()


def _reindex(session: Session, keyring: Keyring, subject: Subject, email: str) -> None:
    """Point the blind index at the new address, unless another subject holds it."""
    other = find_by_email(session, keyring, email)
    if other is not None and other.id != subject.id:
        raise Conflict("another subject already has this e-mail address")
    subject.email_index = keyring.blind_index(email)


def _additions(
    rules: Engine, rows: Sequence[Any], missing: list[str]
) -> dict[str, tuple[str, list[str]]]:
    """`{field: (source, purposes)}` for each missing field a held source may bring (C1).

    Raises `InvalidInput` naming the fields no held source may bring; nothing is changed.
    """
    sources: dict[str, list[str]] = {}
    for row in rows:
        held = sources.setdefault(row.source, [])
        held.extend(p for p in row.purposes if p not in held)
    additions: dict[str, tuple[str, list[str]]] = {}
    refused = []
    for name in missing:
        origin = next((s for s, ps in sources.items() if name in rules.intake_fields(s, ps)), None)
        if origin is None:
            refused.append(name)
        else:
            additions[name] = (origin, sources[origin])
    if refused:
        raise InvalidInput(
            f"fields not covered by the purposes this subject's data was collected for:"
            f" {', '.join(sorted(refused))} (C1); nothing was changed"
        )
    return additions
