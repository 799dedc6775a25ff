"""The vault's operations: intake, look-up, purpose-checked reads, rectification.

Every function takes the session, flushes and never commits; every read and write adds an
audit entry in the same transaction (Art. 5(2) GDPR, accountability). Allow and deny come
from the policy's decision engine; the vault only applies its answers to stored fields.
Intake (write authority, adding only what is new) lives in `schutz.vault.intake`; look-ups
and purpose-checked reads in `schutz.vault.reads`, which take consent state from the consent
ledger themselves, never from the caller; corrections in `schutz.vault.rectification`. Erasure,
restriction and holds live in `schutz.vault.erasure`, key rotation in
`schutz.vault.rotation`, and what other domains need beyond these reads (the Art. 15 export,
sealing under a subject's key, audiences in bulk) in `schutz.vault.access`; all are
re-exported here, the one module other domains import.
"""

from __future__ import annotations

from schutz.vault.access import (
    FIELDS,
    SUBJECTS,
    HeldField,
    HeldHold,
    SubjectFields,
    contact_address,
    is_live,
    legal_holds,
    open_for_subject,
    seal_for_subject,
    subject_fields,
)
from schutz.vault.audiences import read_emails_for_purpose, subjects_for_purpose
from schutz.vault.census import (
    FieldFacts,
    expire_fields,
    fields_in,
    fields_of,
    has_fields,
    held_erasures_due,
    in_categories,
    retainable_subjects,
    running_hold_names,
)
from schutz.vault.crypto import FieldCipher, IntegrityCheckError
from schutz.vault.erasure import (
    ERASURE_TABLES,
    ErasureResult,
    erase_subject,
    erasure_decisions,
    lift_restriction,
    reapply_erasure,
    restrict_subject,
    run_retention,
)
from schutz.vault.holds import place_hold
from schutz.vault.identities import find_by_identity
from schutz.vault.intake import IntakeResult, intake
from schutz.vault.keys import Keyring
from schutz.vault.reads import (
    JUSTIFICATION_FIELD,
    SubjectData,
    find_subject,
    read_subject,
    reveal_justification,
)
from schutz.vault.rectification import rectify
from schutz.vault.rotation import pending_rewraps, rewrap_keys
from schutz.vault.subject_keys import lock_subject, subject_cipher
from schutz.vault.validation import normalise_email, normalise_fields

__all__ = [
    "ERASURE_TABLES",
    "FIELDS",
    "JUSTIFICATION_FIELD",
    "SUBJECTS",
    "ErasureResult",
    "FieldCipher",
    "FieldFacts",
    "HeldField",
    "HeldHold",
    "IntakeResult",
    "IntegrityCheckError",
    "Keyring",
    "SubjectData",
    "SubjectFields",
    "contact_address",
    "erase_subject",
    "erasure_decisions",
    "expire_fields",
    "fields_in",
    "fields_of",
    "find_by_identity",
    "find_subject",
    "has_fields",
    "held_erasures_due",
    "in_categories",
    "intake",
    "is_live",
    "legal_holds",
    "lift_restriction",
    "lock_subject",
    "normalise_email",
    "normalise_fields",
    "open_for_subject",
    "pending_rewraps",
    "place_hold",
    "read_emails_for_purpose",
    "read_subject",
    "reapply_erasure",
    "rectify",
    "restrict_subject",
    "retainable_subjects",
    "reveal_justification",
    "rewrap_keys",
    "run_retention",
    "running_hold_names",
    "seal_for_subject",
    "subject_cipher",
    "subject_fields",
    "subjects_for_purpose",
]
