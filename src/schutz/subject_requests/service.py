"""Submitting, verifying and answering data-subject requests (Art. 12, 15-21 GDPR, C11).

Every function flushes and never commits; it writes the request's history, the audit entry
and any mail (through the outbox) in the caller's transaction. Nothing here reveals whether
an address is known: a request gets the same answer and the same mail either way, and only
the owner of the address, by the link in that mail, learns more.

The domain's public face, in three parts: the record and its mail (`records.py`), receipt
and identity check (`receipt.py`), and what staff do with a request (`handling.py`).
"""

from __future__ import annotations

from schutz.subject_requests.handling import (
    RECTIFICATION_AUTHORITY,
    apply_rectification,
    approve_erasure,
    assign,
    check_rectification,
    extend,
    refuse,
)
from schutz.subject_requests.receipt import (
    LinkUsed,
    expire_unverified,
    match_request,
    submit,
    submit_verified,
    verify_manually,
    verify_with_link,
)
from schutz.subject_requests.records import (
    DETAILS_MAX,
    NOTE_MAX,
    SUBJECT_ACTOR,
    VERIFY_WINDOW,
    Rectified,
    Submitted,
    clip,
    complete,
    controller_line,
    details_of,
    get_request,
    history,
    is_open,
    is_overdue,
    list_requests,
    open_request,
    parse_choice,
    queue_mail,
    record_event,
)

__all__ = [
    "DETAILS_MAX",
    "NOTE_MAX",
    "RECTIFICATION_AUTHORITY",
    "SUBJECT_ACTOR",
    "VERIFY_WINDOW",
    "LinkUsed",
    "Rectified",
    "Submitted",
    "apply_rectification",
    "approve_erasure",
    "assign",
    "check_rectification",
    "controller_line",
    "details_of",
    "expire_unverified",
    "extend",
    "get_request",
    "history",
    "is_open",
    "is_overdue",
    "list_requests",
    "match_request",
    "refuse",
    "submit",
    "submit_verified",
    "verify_manually",
    "verify_with_link",
]

# The helpers' names from before the split, for code written against this one module while
# it was one (other branches in flight); new code imports them from `records` or `receipt`.
_event = record_event
_mail = queue_mail
_complete = complete
_open_request = open_request
_parse = parse_choice
_text = clip
