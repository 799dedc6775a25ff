"""A change of stored data as the carrying out of the subject's verified request (Art. 16)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from schutz.policy.engine import Engine
from schutz.subject_requests.service import Rectified, apply_rectification, check_rectification
from schutz.vault.keys import Keyring


def rectify_subject(
    session: Session,
    rules: Engine,
    keyring: Keyring,
    subject_id: str,
    request_id: str | None,
    data: dict[str, str],
    *,
    actor: str,
    now: datetime,
) -> Rectified:
    """Change `subject_id`'s fields as its verified rectification or completion request
    `request_id` asks; without such a request nothing changes (`Denied`, audited and
    flagged: invariant 1, a key alone changes nothing however trusted its role)."""
    checked = check_rectification(session, subject_id, request_id, actor=actor, now=now)
    return apply_rectification(session, rules, keyring, checked, data, actor=actor, now=now)
