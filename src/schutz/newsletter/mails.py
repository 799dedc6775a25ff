"""The newsletter's own mails, in English and German: plain text, no advertising.

Some German courts treat a confirmation mail that advertises as unsolicited advertising
(UWG §7), so the confirmation says what was asked for and how to confirm, nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mail:
    subject: str
    body: str


_CONFIRM = {
    "en": Mail(
        subject="Please confirm your newsletter subscription",
        body=(
            "Someone, probably you, asked to receive the {site} newsletter at this address.\n"
            "\n"
            "To confirm, open this link within three days:\n"
            "{link}\n"
            "\n"
            "If you did not ask for it, ignore this message: without confirmation you will\n"
            "receive nothing, and the sign-up lapses.\n"
            "\n"
            "{controller}\n"
        ),
    ),
    "de": Mail(
        subject="Bitte bestätigen Sie Ihre Newsletter-Anmeldung",
        body=(
            "Jemand, vermutlich Sie, hat den Newsletter von {site} an diese Adresse bestellt.\n"
            "\n"
            "Zur Bestätigung öffnen Sie bitte innerhalb von drei Tagen diesen Link:\n"
            "{link}\n"
            "\n"
            "Wenn Sie das nicht waren, ignorieren Sie diese Nachricht: Ohne Bestätigung\n"
            "erhalten Sie nichts, und die Anmeldung verfällt.\n"
            "\n"
            "{controller}\n"
        ),
    ),
}

FOOTER = (
    "\n"
    "--\n"
    "Abmelden / Unsubscribe: {link}\n"
    "Sie erhalten diesen Newsletter, weil Sie ihn bestellt und bestätigt haben.\n"
    "You receive this newsletter because you subscribed and confirmed.\n"
    "{controller}\n"
)


def confirmation_mail(lang: str, *, site: str, link: str, controller: str) -> Mail:
    """The double opt-in mail in `lang` (English for any other language)."""
    template = _CONFIRM.get(lang, _CONFIRM["en"])
    return Mail(
        subject=template.subject,
        body=template.body.format(site=site, link=link, controller=controller),
    )


def issue_body(body: str, *, link: str, controller: str) -> str:
    """An issue's text with the personal unsubscribe link every newsletter carries (C19)."""
    return body.rstrip() + "\n" + FOOTER.format(link=link, controller=controller)
