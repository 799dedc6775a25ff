"""Tables of the vault: subjects, their encrypted fields, legal holds and erasure tombstones.

No column holds a personal value in plaintext: fields are AES-256-GCM ciphertexts under the
subject's own data key, and the e-mail address is findable only through its blind index.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from schutz.db import Base, UtcDateTime

RowId = BigInteger().with_variant(Integer(), "sqlite")


class Subject(Base):
    """A data subject: an opaque id, the wrapped data key and the markers of Art. 17/18 GDPR.

    After erasure the row stays with its key and index gone, so that records of other
    domains that name the subject (disclosures, audit) keep a valid reference.
    """

    __tablename__ = "vault_subject"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="Opaque id (hex).")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, comment="First intake (UTC).")
    wrapped_key: Mapped[bytes | None] = mapped_column(
        LargeBinary, comment="The data key, AES-256-GCM under a master key; NULL once erased."
    )
    master_key_id: Mapped[str | None] = mapped_column(
        String(16), index=True, comment="Id of the master key that wraps the data key."
    )
    key_version: Mapped[int] = mapped_column(
        Integer, default=1, comment="Version of the data key; part of every field's AAD."
    )
    email_index: Mapped[bytes | None] = mapped_column(
        LargeBinary(32), unique=True, comment="HMAC-SHA256 of the normalised e-mail (blind index)."
    )
    restricted_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, comment="Processing restricted since (Art. 18 GDPR); NULL when not."
    )
    erasure_requested_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, comment="Erasure asked for but held back by a legal hold (Art. 17(3)(b))."
    )
    erasure_due_on: Mapped[date | None] = mapped_column(
        Date, index=True, comment="First day the held-back erasure may run (`retention run`)."
    )
    erased_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, comment="Crypto-shredded at (Art. 17 GDPR); nothing personal remains."
    )


class PersonalField(Base):
    """One personal value of one subject, encrypted; `field` is the API name."""

    __tablename__ = "vault_field"
    __table_args__ = (UniqueConstraint("subject_id", "field", name="uq_vault_field_subject_field"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    subject_id: Mapped[str] = mapped_column(
        ForeignKey("vault_subject.id", ondelete="CASCADE"), comment="Whose value this is."
    )
    field: Mapped[str] = mapped_column(
        String(64), comment='API field name, e.g. "email", "postal_address.city".'
    )
    category: Mapped[str] = mapped_column(
        String(100), comment="Taxonomy category the policy maps the field to."
    )
    key_version: Mapped[int] = mapped_column(Integer, comment="Data-key version it is under.")
    ciphertext: Mapped[bytes] = mapped_column(
        LargeBinary, comment="Nonce + AES-256-GCM ciphertext + tag; AAD binds subject/field."
    )
    source: Mapped[str] = mapped_column(String(32), comment="Intake source that brought it (C1).")
    purposes: Mapped[list[str]] = mapped_column(
        JSON, comment="Purposes it was collected for (purpose binding, C9)."
    )
    policy_version: Mapped[str] = mapped_column(String(40), comment="Policy in force at intake.")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, comment="First stored (UTC).")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, comment="Last written (UTC).")


class SubjectIdentity(Base):
    """A custom identity of a subject (`customer_number`), findable only through its blind
    index: an HMAC of the identity's name and normalised value, never the value itself."""

    __tablename__ = "vault_identity"
    __table_args__ = (
        UniqueConstraint("identity", "value_index", name="uq_vault_identity_value"),
        UniqueConstraint("subject_id", "identity", name="uq_vault_identity_subject"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    subject_id: Mapped[str] = mapped_column(
        ForeignKey("vault_subject.id", ondelete="CASCADE"), comment="Whose identity this is."
    )
    identity: Mapped[str] = mapped_column(
        String(64), comment="Name of the custom identity in the policy (custom_fields)."
    )
    value_index: Mapped[bytes] = mapped_column(
        LargeBinary(32), comment="HMAC-SHA256 of name and normalised value (blind index)."
    )


class LegalHold(Base):
    """A statutory duty to keep some categories of a subject, e.g. invoices (HGB §257, AO §147)."""

    __tablename__ = "vault_legal_hold"

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    subject_id: Mapped[str] = mapped_column(
        ForeignKey("vault_subject.id", ondelete="CASCADE"), index=True, comment="Who is held."
    )
    hold: Mapped[str] = mapped_column(String(64), comment="Key of the hold in the policy.")
    reference: Mapped[str] = mapped_column(
        String(80), comment="What creates the duty, e.g. an order reference; not personal."
    )
    event_date: Mapped[date] = mapped_column(Date, comment="Date of the voucher or letter.")
    lapses_on: Mapped[date] = mapped_column(Date, comment="First day the duty no longer applies.")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, comment="When recorded (UTC).")


class Tombstone(Base):
    """The memory of an erasure: only the id and the time, so a restore never revives it."""

    __tablename__ = "vault_tombstone"

    subject_id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="Erased id.")
    erased_at: Mapped[datetime] = mapped_column(UtcDateTime, comment="When (UTC).")
