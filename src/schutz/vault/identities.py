"""Custom identities (`customer_number`): finding a subject by one, keeping each unique.

An identity is a custom field the policy marks `identity: true`. Its value is sealed in the
vault like any field; to find the subject, `vault_identity` keeps only a keyed blind index
(HMAC of the identity's name and value under the keyring's index key), as for e-mail
addresses. A value belongs to one subject at most: a clash is a `Conflict` that names the
identity, never who holds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.errors import Conflict, Denied, InvalidInput, NotFound
from schutz.policy.schema import Policy
from schutz.vault.crypto import FieldCipher
from schutz.vault.keys import Keyring
from schutz.vault.models import PersonalField, SubjectIdentity
from schutz.vault.validation import normalise_fields

IDENTITY_ROLE = "identity_role"
"""The rule a refused look-up names: the caller's role may not search by this identity."""


def identities_in(policy: Policy, values: Mapping[str, str]) -> dict[str, str]:
    """The identities among normalised `values`, by name."""
    return {name: values[name] for name in policy.identities if name in values}


def holder(session: Session, keyring: Keyring, identity: str, value: str) -> str | None:
    """The id of the subject holding `value` as `identity` (under any key of the keyring)."""
    indexes = keyring.identity_indexes(identity, value)
    return session.scalar(
        select(SubjectIdentity.subject_id).where(
            SubjectIdentity.identity == identity, SubjectIdentity.value_index.in_(indexes)
        )
    )


def owner_of(session: Session, keyring: Keyring, identities: Mapping[str, str]) -> str | None:
    """The one subject these identities lead to; `Conflict` when they lead to two."""
    found = {holder(session, keyring, name, value) for name, value in identities.items()}
    found.discard(None)
    if len(found) > 1:
        raise Conflict(_clash(sorted(identities)))
    return next(iter(found), None)


def claim(
    session: Session, keyring: Keyring, subject_id: str, identities: Mapping[str, str]
) -> None:
    """Index `identities` for `subject_id`; `Conflict` if another subject holds one.

    An identity the subject already has under another value is re-pointed (rectification).
    """
    for name, value in identities.items():
        other = holder(session, keyring, name, value)
        if other is not None and other != subject_id:
            raise Conflict(_clash([name]))
        if other == subject_id:
            continue
        session.execute(
            delete(SubjectIdentity).where(
                SubjectIdentity.subject_id == subject_id, SubjectIdentity.identity == name
            )
        )
        session.add(
            SubjectIdentity(
                subject_id=subject_id,
                identity=name,
                value_index=keyring.identity_index(name, value),
            )
        )
    session.flush()


def check_free(
    session: Session, keyring: Keyring, subject_id: str | None, identities: Mapping[str, str]
) -> None:
    """`Conflict` when another subject than `subject_id` holds one of `identities`."""
    for name, value in identities.items():
        other = holder(session, keyring, name, value)
        if other is not None and other != subject_id:
            raise Conflict(_clash([name]))


def forget(session: Session, subject_id: str, names: Iterable[str] | None = None) -> None:
    """Drop the subject's identity indexes (all, or those in `names`): on erasure."""
    query = delete(SubjectIdentity).where(SubjectIdentity.subject_id == subject_id)
    if names is not None:
        query = query.where(SubjectIdentity.identity.in_(list(names)))
    session.execute(query)


def reindex(session: Session, keyring: Keyring, cipher: FieldCipher, subject_id: str) -> None:
    """Renew the subject's identity indexes under the active key (key rotation)."""
    rows = session.scalars(
        select(SubjectIdentity).where(SubjectIdentity.subject_id == subject_id)
    ).all()
    for row in rows:
        field = session.scalar(
            select(PersonalField).where(
                PersonalField.subject_id == subject_id, PersonalField.field == row.identity
            )
        )
        if field is None:
            continue
        plain = cipher.decrypt(field.field, field.category, field.ciphertext, field.key_version)
        row.value_index = keyring.identity_index(row.identity, plain)


def _clash(names: list[str]) -> str:
    return (
        f"another subject already holds this {', '.join(names)}; each value identifies one"
        " subject only"
    )


def check_may_find(
    session: Session,
    policy: Policy,
    names: Iterable[str],
    *,
    role: str,
    actor: str,
    now: datetime,
) -> None:
    """`Denied` (audited, flagged) unless `role` is one the policy lets find subjects by each
    identity in `names`. An intake that carries an identity finds its subject by it, and a
    clash tells that the value is held: both are look-ups, so the same roles apply."""
    for identity in names:
        if role in policy.custom_fields[identity].lookup_roles:
            continue
        audit.record(
            session,
            actor=actor,
            action="vault.lookup_denied",
            details={"identity": identity, "role": role, "rule": IDENTITY_ROLE},
            flagged=True,
            now=now,
        )
        reason = f"role {role!r} may not find subjects by {identity!r}"
        raise Denied(f"look-up by {identity!r} is not allowed", reason, IDENTITY_ROLE)


def find_by_identity(
    session: Session,
    policy: Policy,
    keyring: Keyring,
    identity: str,
    value: str,
    *,
    role: str,
    actor: str,
    now: datetime,
) -> str:
    """The id of the subject whose `identity` is `value`, through the blind index only.

    Only the roles the policy names for the identity may search (`Denied`, audited); an
    unknown value is `NotFound`, audited like a found one, with no value in either entry.
    """
    spec = policy.custom_fields.get(identity)
    if spec is None or not spec.identity:
        known = ", ".join(policy.identities) or "none"
        raise InvalidInput(f"identity: {identity!r} is not an identity of the policy ({known})")
    check_may_find(session, policy, [identity], role=role, actor=actor, now=now)
    normalised = normalise_fields({identity: value}, policy.custom_fields)[identity]
    found = holder(session, keyring, identity, normalised)
    audit.record(
        session,
        actor=actor,
        action="vault.lookup",
        subject_id=found,
        details={"found": found is not None, "identity": identity},
        now=now,
    )
    if found is None:
        raise NotFound(f"no subject with this {identity}")
    return found
