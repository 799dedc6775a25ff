"""What the subject changes in the privacy centre themselves (C11, C19): the consent
switches, and corrections of their own data (Art. 16 GDPR).

The centre's session has already proved the address, so a change is recorded as a verified
request and carried out at once; nothing here knows about the web.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from schutz.consent.service import ConsentState, current_state, record_consent
from schutz.errors import InvalidInput
from schutz.policy.engine import Engine
from schutz.policy.schema import Policy
from schutz.subject_requests import holdings, service
from schutz.subject_requests.models import RequestKind
from schutz.subject_requests.tokens import Links
from schutz.systems import events as system_events
from schutz.vault.keys import Keyring
from schutz.vault.service import SubjectFields as Holdings

SUBJECT = "subject"
SWITCHES = (
    ("newsletter", "withdraw"),
    ("direct_marketing", "object"),
    ("market_research", "object"),
    ("web_analytics", "object"),
)
"""The switches of the centre: purpose key -> what turning it off records."""
EDITABLE = (
    "name",
    "phone",
    "postal_address.street",
    "postal_address.postal_code",
    "postal_address.city",
    "postal_address.country",
)
"""Fields a correction changes (the subject's own, or staff acting on a letter); the
address is the centre's key and changes only by a rectification request."""
REQUESTABLE = ("erasure", "restriction")
VALUE_MAX = 200


@dataclass(frozen=True)
class Switch:
    purpose: str
    on: bool
    state: str | None


def is_on(state: ConsentState | None, requires_consent: bool) -> bool:
    """A purpose is on when granted or confirmed, or, needing no consent, while nothing
    was said against it (an objection or a withdrawal turns it off)."""
    if state is None:
        return not requires_consent
    return state in (ConsentState.GRANTED, ConsentState.CONFIRMED)


def switches(session: Session, policy: Policy, subject_id: str) -> list[Switch]:
    """The centre's switches the policy has, each as the ledger says it stands now."""
    states = current_state(session, policy, subject_id)
    return [
        Switch(
            purpose=key,
            on=is_on(states.get(key), policy.purposes[key].requires_consent),
            state=states[key].value if key in states else None,
        )
        for key, _ in SWITCHES
        if key in policy.purposes
    ]


def switch_action(policy: Policy, purpose: str, *, on: bool) -> str:
    """What turning `purpose` on or off records: a grant, a withdrawal or an objection."""
    off_action = dict(SWITCHES).get(purpose)
    if off_action is None or purpose not in policy.purposes:
        raise InvalidInput("purpose: not a switch of the privacy centre")
    return "grant" if on else off_action


def flip_switch(
    session: Session,
    policy: Policy,
    keyring: Keyring,
    subject_id: str,
    purpose: str,
    *,
    on: bool,
    wording: str,
    wording_version: str,
    user_agent: str | None,
    now: datetime,
) -> None:
    """Record the switch in the consent ledger, the wording shown kept as proof of a grant
    (Art. 7(1)); the centre's session is the verified subject, who may lift an objection."""
    action = switch_action(policy, purpose, on=on)
    granted = action == "grant"
    record_consent(
        session,
        policy,
        subject_id=subject_id,
        purpose=purpose,
        action=action,
        channel="web",
        evidence="privacy_centre",
        wording=wording if granted else None,
        wording_version=wording_version if granted else None,
        user_agent=user_agent,
        standing="subject",
        actor=SUBJECT,
        now=now,
    )
    system_events.consent_changed(
        session, policy, keyring, subject_id, purpose=purpose, action=action, actor=SUBJECT,
        now=now,
    )  # fmt: skip


def changes(held: Holdings, sent: Mapping[str, object]) -> dict[str, str]:
    """The editable fields `sent` gives a new, non-blank value (trimmed, at most 200)."""
    data = {}
    for name in EDITABLE:
        value = sent.get(name)
        if isinstance(value, str) and value.strip() and value.strip() != held.value(name):
            data[name] = value.strip()[:VALUE_MAX]
    return data


def self_rectify(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    links: Links,
    subject_id: str,
    sent: Mapping[str, object],
    *,
    lang: str,
    now: datetime,
) -> bool:
    """Carry out the subject's own correction (Art. 16); False when nothing changes.

    Recorded as a verified completion (every field new) or rectification request and
    applied at once; the recipients of the old values are listed for Art. 19.
    """
    held = holdings.read_holdings(
        session, keyring, subject_id, actor=SUBJECT, reason="rectify", now=now
    )
    data = changes(held, sent)
    if not data:
        return False
    new_only = all(held.value(n) is None for n in data)
    kind = RequestKind.COMPLETION if new_only else RequestKind.RECTIFICATION
    made = service.submit_verified(
        session, rules, keyring, links, subject_id=subject_id, kind=kind.value,
        lang=lang, actor=SUBJECT, now=now,
    )  # fmt: skip
    service.apply_rectification(session, rules, keyring, made.id, data, actor=SUBJECT, now=now)
    return True
