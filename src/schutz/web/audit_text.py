"""Audit entries and request events as sentences a reader of the console understands.

The log keeps dotted action names and ids (`request.verified`, `{"request_id": …}`); the
console says what happened in words, with the purpose's title and the person's e-mail
address, and keeps the entry's raw details one click away.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schutz.web.i18n import N_
from schutz.web.staff_view import Names

SENTENCES: dict[str, str] = {
    "staff.login": N_("{who} signed in to the staff console."),
    "staff.logout": N_("{who} signed out of the staff console."),
    "staff.login_failed": N_("A sign-in to the staff console failed."),
    "staff.add": N_("{who} added a staff login."),
    "staff.disable": N_("{who} disabled a staff login; its sessions ended."),
    "apikey.create": N_("{who} created an API key."),
    "apikey.revoke": N_("{who} revoked an API key."),
    "vault.intake": N_("{who} stored a customer's personal data in the vault."),
    "vault.intake_denied": N_("The vault refused data from a source that may not give it."),
    "vault.read": N_("{who} read a customer's data for “{purpose}”."),
    "vault.read_denied": N_("The vault refused {who} a read for “{purpose}”."),
    "vault.lookup": N_("{who} looked up a customer by e-mail address."),
    "vault.integrity_failure": N_("A stored field failed its integrity check."),
    "vault.access_export": N_("{who} exported a customer's data (Art. 15 GDPR)."),
    "vault.erase": N_("{who} erased a customer's data; its keys are destroyed."),
    "vault.erasure_held": N_("An erasure waits: the law requires keeping some data for now."),
    "vault.restrict": N_("{who} restricted the use of a customer's data."),
    "vault.restriction_lifted": N_("{who} lifted the restriction on a customer's data."),
    "vault.tombstone_restored": N_("After a restore, a customer erased since the backup was erased again."),  # noqa: E501
    "vault.rectify": N_("{who} corrected a customer's data."),
    "vault.rectify_refused": N_("A correction was refused: that source may not change these fields."),  # noqa: E501
    "vault.hold_placed": N_("{who} placed a legal hold on a customer's data."),
    "vault.keys_rewrapped": N_("{who} re-wrapped data keys under a new master key."),
    "consent.grant": N_("Consent to “{purpose}” was recorded."),
    "consent.confirm": N_("Consent to “{purpose}” was confirmed by e-mail."),
    "consent.withdraw": N_("Consent to “{purpose}” was withdrawn."),
    "consent.object": N_("An objection to “{purpose}” was recorded."),
    "consent.grant_refused": N_("A consent to “{purpose}” was refused: the policy does not allow it."),  # noqa: E501
    "cookies.grant": N_("A visitor agreed to cookies in the banner."),
    "cookies.confirm": N_("A visitor confirmed cookie choices."),
    "cookies.withdraw": N_("A visitor withdrew consent to cookies."),
    "cookies.object": N_("A visitor objected to cookies."),
    "request.received": N_("{kind} request {request} received."),
    "request.matched": N_("Request {request} was matched to a customer in the vault."),
    "request.verified": N_("{who} confirmed the identity for request {request}."),
    "request.awaiting_approval": N_("Request {request} waits for the DPO's approval."),
    "request.awaiting_handling": N_("Request {request} is ready to be handled."),
    "request.assigned": N_("{who} took on request {request}."),
    "request.approved": N_("{who} approved the erasure of request {request}."),
    "request.extended": N_("{who} extended the deadline of request {request}."),
    "request.refused": N_("{who} refused request {request}."),
    "request.rectified": N_("{who} applied the correction of request {request}."),
    "request.completed": N_("{kind} request {request} is completed."),
    "request.expired": N_("Request {request} expired: nobody confirmed it."),
    "disclosure.retried": N_("{who} queued a failed delivery to {recipient} again."),
    "disclosure.refused": N_("A disclosure to {recipient} for “{purpose}” was refused by the policy."),  # noqa: E501
    "disclosure.payloads_read": N_("{who} opened what the recipients of order {order} received."),
    "disclosure.endpoint_set": N_("{who} set where {recipient} receives its webhooks."),
    "disclosure.endpoint_refused": N_("A webhook address was refused: {recipient} is not a recipient in the policy."),  # noqa: E501
    "order.placed": N_("Order {order} was placed; its recipients get only what the policy lists."),
    "newsletter.issue": N_("{who} sent a newsletter issue to {count} recipients."),
    "backup.restore": N_("{who} restored a backup."),
    "audit.rekey": N_("{who} signed {count} older audit entries with the audit key."),
    "analytics.retention": N_("Raw page views older than the retention period were deleted ({count})."),  # noqa: E501
    "account.link_sent": N_("A sign-in link to the privacy centre was sent."),
    "account.signed_in": N_("A customer signed in to the privacy centre."),
}  # fmt: skip
UNKNOWN = N_("{who}: {action}.")


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"


def describe(
    names: Names,
    action: str,
    *,
    actor: str | None,
    purpose: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> str:
    """One entry as a sentence in the page's language, without personal data."""
    details = details or {}
    request_id = str(details.get("request_id", ""))
    count = next((details[k] for k in ("recipients", "entries", "deleted") if k in details), "?")
    words = _Blank(
        who=names.who(actor),
        action=action,
        purpose=names.purpose(purpose),
        request=request_id[:8],
        kind=names.kind(str(details.get("kind", ""))),
        recipient=names.recipient(str(details.get("recipient", ""))),
        order=str(details.get("order_ref", "")),
        count=str(count),
    )
    sentence = names.translate(SENTENCES.get(action, UNKNOWN)).format_map(words)
    if sentence.startswith(words["who"]) and "@" in words["who"] and " " not in words["who"]:
        return sentence  # an e-mail address keeps its case
    return sentence[:1].upper() + sentence[1:]
