"""Recording a visitor's cookie choices as consent events (Art. 7(1) GDPR, TDDDG §25)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from schutz.audit import service as audit
from schutz.consent.service import record_consent, wording_hash
from schutz.consent.vocabulary import ConsentAction, ConsentChannel
from schutz.cookies.choices import Choices
from schutz.cookies.registry import purpose_for
from schutz.policy.schema import Policy


def record_choices(
    session: Session,
    policy: Policy,
    before: Choices,
    after: Choices,
    *,
    wording: str,
    ip: str | None,
    user_agent: str | None,
    actor: str = "visitor",
    now: datetime,
) -> list[str]:
    """Write one consent event per category whose choice changed; the categories written.

    Each event is for the visitor's random id, with the policy version and the hash of the
    wording shown, so the operator can prove what was agreed to (Art. 7(1) GDPR); a "no" to
    a category not yet decided is recorded too, as a withdrawal, so a refusal is documented
    as well as an agreement. A category the policy has no purpose for (a policy that lists
    embeds but no purpose for them) is recorded in the audit log instead, with the same
    proof fields. `ip` is truncated by the ledger before it is stored.
    """
    changed = [
        (category, allowed)
        for category, allowed in after.decided.items()
        if before.decided.get(category) is not allowed or before.version != after.version
    ]
    for category, allowed in changed:
        action = ConsentAction.GRANT if allowed else ConsentAction.WITHDRAW
        purpose = purpose_for(policy, category)
        if purpose is None:
            _audit_choice(
                session, policy, after, {"category": category}, action, wording, actor, now
            )
            continue
        record_consent(
            session,
            policy,
            visitor_id=after.visitor_id,
            purpose=purpose,
            action=action.value,
            channel=ConsentChannel.WEB.value,
            wording=wording,
            wording_version=f"cookies:{category}",
            ip=ip,
            user_agent=user_agent,
            actor=actor,
            now=now,
        )
    services = [
        (service, allowed)
        for service, allowed in after.services.items()
        if before.services.get(service) is not allowed or before.version != after.version
    ]
    for service, allowed in services:
        # Consent to one embed alone (a click on its placeholder): proof in the audit log.
        action = ConsentAction.GRANT if allowed else ConsentAction.WITHDRAW
        _audit_choice(session, policy, after, {"service": service}, action, wording, actor, now)
    return [c for c, _ in changed] + [f"service:{s}" for s, _ in services]


def _audit_choice(
    session: Session,
    policy: Policy,
    after: Choices,
    what: dict[str, str],
    action: ConsentAction,
    wording: str,
    actor: str,
    now: datetime,
) -> None:
    """A choice with no purpose of its own in the ledger, kept as proof in the audit log."""
    audit.record(
        session,
        actor=actor,
        action=f"cookies.{action.value}",
        details={
            **what,
            "visitor": after.visitor_id,
            "policy_version": policy.version,
            "wording_hash": wording_hash(wording),
        },
        now=now,
    )
