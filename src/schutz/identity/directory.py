"""Who the `staff:<id>` labels in the audit log and request histories are, for the console."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from schutz.identity.models import StaffUser

STAFF_PREFIX = "staff:"


def staff_by_label(session: Session, labels: Iterable[str]) -> dict[str, tuple[str, str]]:
    """(e-mail, role) of each staff member named by one of `labels` ("staff:<id>").

    Disabled logins are included: their entries keep their meaning. Labels of other kinds
    (API keys, the command line, the system) are skipped.
    """
    ids = {label.removeprefix(STAFF_PREFIX) for label in labels if label.startswith(STAFF_PREFIX)}
    if not ids:
        return {}
    rows = session.execute(
        select(StaffUser.id, StaffUser.email, StaffUser.role).where(StaffUser.id.in_(ids))
    )
    return {f"{STAFF_PREFIX}{id_}": (email, role) for id_, email, role in rows}
