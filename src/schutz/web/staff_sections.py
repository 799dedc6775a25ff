"""What the staff console offers, and to whom: the dashboard and every page's navigation."""

from schutz.web.i18n import N_

# What the console offers, and to whom. A section is a link once its page exists.
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
