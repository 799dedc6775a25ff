"""Re-applying, after a restore, the decisions the snapshot does not contain.

Each one goes through its own domain's service function, which writes its audit entry:
a key is revoked (`identity.revoke_api_key`) and a staff user disabled
(`identity.disable_staff`) with their original times; a withdrawal or objection is appended
to the consent ledger again (`consent.record_consent`) with its original time, channel,
policy version and evidence reference; an erasure is shredded again or its tombstone put back
(`vault.reapply_erasure`). A decision the restored database already holds is left alone, so
restoring the same backup twice changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from schutz.backup.decisions import Decisions, Statement, statements_in
from schutz.consent.service import record_consent
from schutz.errors import InvalidInput
from schutz.identity import service as identity
from schutz.identity.models import ApiKey, StaffUser
from schutz.policy.schema import Policy
from schutz.vault import service as vault


@dataclass(frozen=True, slots=True)
class Reapplied:
    """How many decisions of each kind were applied again.

    `shredded`: subjects the snapshot still held, erased again; `remembered`: tombstones put
    back for subjects with nothing left to shred; `held`: subjects a legal hold in the
    snapshot keeps restricted instead (finished by `schutz retention run`); `unknown_purpose`:
    statements about a purpose the policy in force no longer has (they affect nothing).
    """

    revocations: int = 0
    disablements: int = 0
    objections: int = 0
    withdrawals: int = 0
    unsubscribes: int = 0
    shredded: int = 0
    remembered: int = 0
    held: int = 0
    unknown_purpose: int = 0

    def details(self) -> dict[str, int]:
        return {
            "keys_revoked": self.revocations,
            "staff_disabled": self.disablements,
            "objections": self.objections,
            "withdrawals": self.withdrawals,
            "unsubscribes": self.unsubscribes,
            "erasures_reapplied": self.shredded,
            "tombstones_restored": self.remembered,
            "erasures_held": self.held,
            "statements_unknown_purpose": self.unknown_purpose,
        }


def _revoke(session: Session, decisions: Decisions, *, actor: str) -> int:
    done = 0
    for revocation in decisions.revocations:
        key = session.get(ApiKey, revocation.api_key_id)
        if key is None or key.revoked_at is not None:
            continue  # unknown to the snapshot (so it cannot work), or revoked there already
        identity.revoke_api_key(session, name=key.name, actor=actor, now=revocation.revoked_at)
        done += 1
    return done


def _disable(session: Session, decisions: Decisions, *, actor: str) -> int:
    done = 0
    for disablement in decisions.disablements:
        user = session.get(StaffUser, disablement.staff_id)
        if user is None or user.disabled_at is not None:
            continue
        identity.disable_staff(session, email=user.email, actor=actor, now=disablement.disabled_at)
        done += 1
    return done


def _kind(policy: Policy, statement: Statement) -> str:
    if statement.action == "object":
        return "objections"
    newsletter = policy.newsletter
    if newsletter is not None and statement.purpose == newsletter.purpose:
        return "unsubscribes"
    return "withdrawals"


def _restate(
    session: Session, policy: Policy, decisions: Decisions, *, actor: str
) -> dict[str, int]:
    """Append each withdrawal and objection the restored ledger lacks, as it was said."""
    counts = {"objections": 0, "withdrawals": 0, "unsubscribes": 0, "unknown_purpose": 0}
    present = {s.key for s in statements_in(session)}
    for statement in sorted(decisions.statements, key=lambda s: s.at):
        if statement.key in present:
            continue
        try:
            record_consent(
                session,
                policy,
                subject_id=statement.subject_id,
                visitor_id=statement.visitor_id,
                purpose=statement.purpose,
                action=statement.action,
                channel=statement.channel,
                evidence=statement.evidence,
                policy_version=statement.policy_version,
                wording_version=statement.wording_version,
                ip=statement.ip_truncated,
                actor=actor,
                now=statement.at,
            )
        except InvalidInput:
            counts["unknown_purpose"] += 1
            continue
        present.add(statement.key)
        counts[_kind(policy, statement)] += 1
    return counts


def _erase(
    session: Session, policy: Policy, decisions: Decisions, *, actor: str, now: datetime
) -> dict[str, int]:
    counts = {"shredded": 0, "tombstone": 0, "held": 0, "present": 0}
    for erasure in decisions.erasures:
        outcome = vault.reapply_erasure(
            session,
            policy,
            erasure.subject_id,
            erased_at=erasure.erased_at,
            held=erasure.held,
            actor=actor,
            now=now,
        )
        counts[outcome] += 1
    return counts


def reapply(
    session: Session, policy: Policy, decisions: Decisions, *, actor: str, now: datetime
) -> Reapplied:
    """Apply again every decision of `decisions` the restored database does not hold."""
    revocations = _revoke(session, decisions, actor=actor)
    disablements = _disable(session, decisions, actor=actor)
    said = _restate(session, policy, decisions, actor=actor)
    erased = _erase(session, policy, decisions, actor=actor, now=now)
    session.flush()
    return Reapplied(
        revocations=revocations,
        disablements=disablements,
        objections=said["objections"],
        withdrawals=said["withdrawals"],
        unsubscribes=said["unsubscribes"],
        shredded=erased["shredded"],
        remembered=erased["tombstone"],
        held=erased["held"],
        unknown_purpose=said["unknown_purpose"],
    )
