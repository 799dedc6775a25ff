"""What the contact form accepts before routing a message (C12), table by table."""

from __future__ import annotations

import pytest

from schutz.contact.service import KINDS, ContactMessage, Unacceptable, check_message


@pytest.mark.parametrize(
    ("sent", "field"),
    [
        (ContactMessage("complaint", "ada@example.org", message="hi"), "kind"),
        (ContactMessage("question", "not an address", message="hi"), "email"),
        (ContactMessage("question", "ada@example.org", message="   "), "message"),
    ],
)
def test_a_message_that_cannot_be_taken_names_the_field_to_correct(
    sent: ContactMessage, field: str
) -> None:
    with pytest.raises(Unacceptable) as refused:
        check_message(sent)
    assert refused.value.field == field
    assert "ada@" not in str(refused.value)  # no address in an error message


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "question"])
def test_objections_and_requests_need_no_words(kind: str) -> None:
    checked = check_message(ContactMessage(kind, " Ada@Example.org ", name=" Ada ", message=""))
    assert (checked.kind, checked.name, checked.message) == (kind, "Ada", "")
    assert checked.email.endswith("@example.org")
