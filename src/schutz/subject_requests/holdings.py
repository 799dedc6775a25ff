"""What the vault holds about one subject, decrypted for the subject's own rights.

Art. 15 GDPR gives the subject a copy of *all* their data, whatever purpose it was
collected for; the vault offers that read as `subject_fields`, which passes by purpose
binding (it guards staff and processors, not the subject) and audits it as an access
export. Request texts are sealed under the subject's data key (`seal_for_subject`), so
that an erasure shreds them with everything else. Everything goes through
`schutz.vault.service`; this module reads no vault table.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from schutz.errors import NotFound
from schutz.vault import service as vault
from schutz.vault.keys import Keyring
from schutz.vault.service import HeldField, HeldHold
from schutz.vault.service import SubjectFields as Holdings

SEALED_FIELD = "request.details"

__all__ = [
    "SEALED_FIELD",
    "HeldField",
    "HeldHold",
    "Holdings",
    "is_live",
    "live_subject",
    "read_holdings",
    "running_holds",
    "seal",
    "subject_email",
    "unseal",
]


def live_subject(session: Session, subject_id: str) -> None:
    """Raise `NotFound` unless the subject exists and is not erased."""
    if not vault.is_live(session, subject_id):
        raise NotFound("no such subject")


def read_holdings(
    session: Session, keyring: Keyring, subject_id: str, *, actor: str, reason: str, now: datetime
) -> Holdings:
    """Every field of the subject, decrypted, with its source, purposes and dates; audited
    by the vault as an access export (Art. 15 GDPR) under `reason`."""
    return vault.subject_fields(session, keyring, subject_id, actor=actor, now=now, reason=reason)


def subject_email(session: Session, keyring: Keyring, subject_id: str) -> str | None:
    """The subject's current address, to answer them; None once erased or never given."""
    return vault.contact_address(session, keyring, subject_id)


def seal(session: Session, keyring: Keyring, subject_id: str, text: str) -> bytes:
    """`text` encrypted under the subject's data key: shredded by the subject's erasure."""
    return vault.seal_for_subject(
        session, keyring, subject_id, text.encode("utf-8"), context=SEALED_FIELD
    )


def unseal(session: Session, keyring: Keyring, subject_id: str, blob: bytes) -> str | None:
    """The text sealed by `seal`, or None once the subject is erased."""
    try:
        plain = vault.open_for_subject(session, keyring, subject_id, blob, context=SEALED_FIELD)
    except NotFound:
        return None
    return plain.decode("utf-8")


def is_live(session: Session, subject_id: str) -> bool:
    """True while the subject exists and is not erased."""
    return vault.is_live(session, subject_id)


def running_holds(session: Session, subject_id: str, today: date) -> tuple[HeldHold, ...]:
    """The legal holds on the subject that have not lapsed by `today`."""
    return vault.legal_holds(session, subject_id, running_on=today)
