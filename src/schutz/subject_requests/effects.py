"""What a verified request does at once: the copy of the data (Art. 15, Art. 20), an
objection to every objectable purpose (Art. 21), a restriction (Art. 18) with its notices to
recipients (Art. 19). Erasure and corrections wait for staff (`handling.py`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from schutz.consent.service import record_consent
from schutz.policy.schema import Policy
from schutz.subject_requests import waiting
from schutz.subject_requests.models import DataRequest, RequestKind
from schutz.subject_requests.records import complete, queue_mail
from schutz.subject_requests.tokens import Links
from schutz.vault import service as vault
from schutz.vault.keys import Keyring


def export(
    session: Session,
    policy: Policy,
    keyring: Keyring,
    links: Links,
    request: DataRequest,
    *,
    actor: str,
    now: datetime,
) -> None:
    """Access (Art. 15) waits for the operator's systems to give their part; portability
    (Art. 20) covers what the subject gave Schutz itself, so no system is asked."""
    if RequestKind(request.kind) is RequestKind.PORTABILITY:
        complete(session, request, "export_ready", actor=actor, now=now)
    elif waiting.complete_or_wait(
        session,
        policy,
        keyring,
        request,
        "export_ready",
        event="access.collect",
        actor=actor,
        now=now,
    ):
        return  # the link goes out once every system has given its part
    if request.verification != "session":
        # From the privacy centre the copy opens at once, by a link bound to the
        # session; a mailed link would outlive the sign-out.
        waiting.mail_export(session, policy, keyring, links, request, now=now)


def object_to_all(
    session: Session,
    policy: Policy,
    keyring: Keyring,
    request: DataRequest,
    subject_id: str,
    *,
    actor: str,
    now: datetime,
) -> None:
    """An objection request (Art. 21) objects to every objectable purpose at once."""
    purposes = [k for k, p in policy.purposes.items() if p.objectable]
    for purpose in purposes:
        record_consent(
            session,
            policy,
            subject_id=subject_id,
            purpose=purpose,
            action="object",
            channel=request.channel,
            evidence=f"request:{request.id}",
            actor=actor,
            now=now,
        )
    complete(session, request, "objected", actor=actor, now=now, purposes=purposes)
    waiting.announce(
        session,
        policy,
        keyring,
        request,
        "consent.changed",
        actor=actor,
        now=now,
        action="object",
        purposes=purposes,
    )
    queue_mail(session, keyring, request, policy, "done", note="", now=now)


def restrict(
    session: Session,
    policy: Policy,
    keyring: Keyring,
    request: DataRequest,
    subject_id: str,
    *,
    actor: str,
    now: datetime,
) -> None:
    """Restriction (Art. 18) applies at once; recipients are told (Art. 19)."""
    vault.restrict_subject(session, subject_id, actor=actor, reason="requested_by_subject", now=now)
    waiting.tell_recipients(session, keyring, request, actor=actor, now=now)
    waiting.complete_or_wait(
        session,
        policy,
        keyring,
        request,
        "restricted",
        event="restriction.applied",
        actor=actor,
        now=now,
    )
    queue_mail(session, keyring, request, policy, "done", note="", now=now)
