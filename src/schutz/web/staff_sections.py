"""What the staff console offers, and to whom: the dashboard and every page's menu."""

from __future__ import annotations

from dataclasses import dataclass

from schutz.web.i18n import N_

# What the console offers, and to whom: (path, title, text, roles). A section is a link once
# its page exists. Features add theirs here; `GROUPS` says where the menu shows it.
SECTIONS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("/staff/requests", N_("Requests"), N_("Data-subject requests and their deadlines."),
     ("support", "dpo", "admin")),
    ("/staff/objections", N_("Objections"), N_("Enter objections received by post or fax."),
     ("support", "dpo", "admin")),
    ("/staff/disclosures", N_("Disclosures"), N_("What each recipient received, and why."),
     ("fulfilment", "dpo", "admin")),
    ("/staff/analytics", N_("Analytics"), N_("Page views and visitors, without personal data."),
     ("marketing", "dpo", "admin")),
    ("/staff/mail", N_("Sent mail"), N_("Messages in the outbox, to follow the links in a demo."),
     ("support", "dpo", "admin")),
    ("/staff/records", N_("Records of processing"),
     N_("The Art. 30 GDPR records, from the policy."), ("dpo", "admin")),
    ("/staff/consents", N_("Consent records"),
     N_("Search consents by subject, e-mail or visitor; export them with their wording."),
     ("dpo", "admin")),
    ("/staff/breaches", N_("Breach register"),
     N_("Breaches, the 72-hour clock and the notifications (Art. 33/34 GDPR)."),
     ("dpo", "admin")),
    ("/staff/audit", N_("Audit log"), N_("Check the chain and review flagged entries."),
     ("dpo", "admin")),
)  # fmt: skip

# The menu's groups, in order, and the sections in each; a section named nowhere goes to
# the group `DEFAULT_GROUP`.
GROUP_TITLES: tuple[tuple[str, str], ...] = (
    ("people", N_("Customers and requests")),
    ("data", N_("Data and recipients")),
    ("oversight", N_("Oversight")),
)
GROUPS: dict[str, str] = {
    "/staff/requests": "people",
    "/staff/objections": "people",
    "/staff/mail": "people",
    "/staff/disclosures": "data",
    "/staff/records": "data",
    "/staff/analytics": "oversight",
    "/staff/audit": "oversight",
}
DEFAULT_GROUP = "data"


@dataclass(frozen=True)
class MenuGroup:
    """One group of the staff menu: its title (a message id) and its (path, title) links."""

    title: str
    links: tuple[tuple[str, str], ...]


def menu_for(role: str) -> list[MenuGroup]:
    """The menu a member of `role` sees: only the sections open to the role, grouped."""
    groups = []
    for key, title in GROUP_TITLES:
        links = tuple(
            (path, name)
            for path, name, _text, roles in SECTIONS
            if role in roles and GROUPS.get(path, DEFAULT_GROUP) == key
        )
        if links:
            groups.append(MenuGroup(title, links))
    return groups
