"""The mails of the request flow, in English and German: plain text, nothing but the answer.

Each goes only to the address the request was made for (or the one the vault holds), never
to another address given alongside it, so a stranger cannot have data sent to themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Mail:
    subject: str
    body: str


_KIND = {
    "en": {
        "access": "a copy of your personal data",
        "rectification": "the correction of your personal data",
        "completion": "the completion of your personal data",
        "erasure": "the erasure of your personal data",
        "objection": "your objection to the use of your personal data",
        "restriction": "the restriction of the use of your personal data",
        "portability": "the personal data you gave us, in a portable format",
    },
    "de": {
        "access": "eine Kopie Ihrer personenbezogenen Daten",
        "rectification": "die Berichtigung Ihrer personenbezogenen Daten",
        "completion": "die Vervollständigung Ihrer personenbezogenen Daten",
        "erasure": "die Löschung Ihrer personenbezogenen Daten",
        "objection": "Ihren Widerspruch gegen die Nutzung Ihrer personenbezogenen Daten",
        "restriction": "die Einschränkung der Nutzung Ihrer personenbezogenen Daten",
        "portability": "die von Ihnen bereitgestellten Daten in einem übertragbaren Format",
    },
}

_TEXTS: dict[str, dict[str, Mail]] = {
    "en": {
        "verify": Mail(
            "Please confirm your request",
            "We received a request for {kind}, made for this e-mail address.\n\n"
            "Before we act on it we must be sure it comes from you. Please open this link\n"
            "within seven days and confirm:\n{link}\n\n"
            "If you did not make this request, ignore this message: without confirmation\n"
            "nothing happens, and the request lapses.\n\n"
            "Request number: {request_id}\n{controller}\n",
        ),
        "export": Mail(
            "Your personal data: download",
            "As you asked, here is the link to a copy of the personal data we hold about\n"
            "you, as a readable page and as a JSON file (Art. 15 and 20 GDPR). It works for\n"
            "one hour; after that, ask again in the privacy centre:\n{link}\n\n"
            "Request number: {request_id}\n{controller}\n",
        ),
        "extended": Mail(
            "Your request: we need more time",
            "We need more time to answer your request {request_id}. Art. 12(3) GDPR allows\n"
            "us up to two further months; we will answer by {due}.\n\n"
            "The reason: {reason}\n\n{controller}\n",
        ),
        "erased": Mail(
            "Your personal data has been erased",
            "As you asked, we have erased the personal data we held about you\n"
            "(Art. 17 GDPR). This is the last message you receive from us about it.\n\n"
            "Request number: {request_id}\n{controller}\n",
        ),
        "erasure_held": Mail(
            "Your erasure request: what we must keep",
            "We have erased what we may erase. The law requires us to keep the following\n"
            "until {until}: {kept}.\nWhy: {why}.\n\n"
            "Until then this data is restricted: we use it for nothing but that legal\n"
            "obligation (Art. 17(3)(b) and Art. 18 GDPR). On {until} it is erased\n"
            "automatically.\n\nRequest number: {request_id}\n{controller}\n",
        ),
        "done": Mail(
            "Your request has been answered",
            "We have carried out your request for {kind}.\n{note}\n"
            "Request number: {request_id}\n{controller}\n",
        ),
        "refused": Mail(
            "Your request",
            "We cannot carry out your request {request_id}.\nThe reason: {reason}\n\n"
            "You may complain to a data-protection supervisory authority or seek a judicial\n"
            "remedy (Art. 12(4) GDPR).\n\n{controller}\n",
        ),
        "account": Mail(
            "Your privacy centre",
            "Someone, probably you, asked to open the privacy centre for this address.\n\n"
            "Open this link within 30 minutes:\n{link}\n\n"
            "If you did not ask for it, ignore this message.\n\n{controller}\n",
        ),
    },
    "de": {
        "verify": Mail(
            "Bitte bestätigen Sie Ihren Antrag",
            "Wir haben für diese E-Mail-Adresse einen Antrag auf {kind} erhalten.\n\n"
            "Bevor wir ihn bearbeiten, müssen wir sicher sein, dass er von Ihnen stammt.\n"
            "Bitte öffnen Sie innerhalb von sieben Tagen diesen Link und bestätigen Sie:\n"
            "{link}\n\nWenn Sie den Antrag nicht gestellt haben, ignorieren Sie diese\n"
            "Nachricht: Ohne Bestätigung geschieht nichts, und der Antrag verfällt.\n\n"
            "Antragsnummer: {request_id}\n{controller}\n",
        ),
        "export": Mail(
            "Ihre personenbezogenen Daten: Download",
            "Wie gewünscht, finden Sie hier den Link zu einer Kopie der Daten, die wir über\n"
            "Sie gespeichert haben, als lesbare Seite und als JSON-Datei (Art. 15 und 20\n"
            "DSGVO). Er gilt eine Stunde; danach fragen Sie im Datenschutz-Center erneut:\n"
            "{link}\n\nAntragsnummer: {request_id}\n{controller}\n",
        ),
        "extended": Mail(
            "Ihr Antrag: Wir benötigen mehr Zeit",
            "Für die Antwort auf Ihren Antrag {request_id} benötigen wir mehr Zeit.\n"
            "Art. 12 Abs. 3 DSGVO erlaubt bis zu zwei weitere Monate; wir antworten bis\n"
            "zum {due}.\n\nDer Grund: {reason}\n\n{controller}\n",
        ),
        "erased": Mail(
            "Ihre personenbezogenen Daten wurden gelöscht",
            "Wie gewünscht, haben wir die Daten gelöscht, die wir über Sie gespeichert\n"
            "hatten (Art. 17 DSGVO). Dies ist unsere letzte Nachricht dazu.\n\n"
            "Antragsnummer: {request_id}\n{controller}\n",
        ),
        "erasure_held": Mail(
            "Ihr Löschantrag: was wir aufbewahren müssen",
            "Wir haben gelöscht, was wir löschen dürfen. Das Gesetz verpflichtet uns,\n"
            "Folgendes bis zum {until} aufzubewahren: {kept}.\nGrund: {why}.\n\n"
            "Bis dahin ist die Verarbeitung eingeschränkt: Wir nutzen diese Daten nur für\n"
            "diese gesetzliche Pflicht (Art. 17 Abs. 3 lit. b und Art. 18 DSGVO). Am\n"
            "{until} werden sie automatisch gelöscht.\n\n"
            "Antragsnummer: {request_id}\n{controller}\n",
        ),
        "done": Mail(
            "Ihr Antrag wurde bearbeitet",
            "Wir haben Ihren Antrag auf {kind} ausgeführt.\n{note}\n"
            "Antragsnummer: {request_id}\n{controller}\n",
        ),
        "refused": Mail(
            "Ihr Antrag",
            "Wir können Ihren Antrag {request_id} nicht ausführen.\nDer Grund: {reason}\n\n"
            "Sie können sich bei einer Datenschutz-Aufsichtsbehörde beschweren oder einen\n"
            "gerichtlichen Rechtsbehelf einlegen (Art. 12 Abs. 4 DSGVO).\n\n{controller}\n",
        ),
        "account": Mail(
            "Ihr Datenschutz-Center",
            "Jemand, vermutlich Sie, möchte das Datenschutz-Center für diese Adresse öffnen.\n\n"
            "Öffnen Sie diesen Link innerhalb von 30 Minuten:\n{link}\n\n"
            "Wenn Sie das nicht waren, ignorieren Sie diese Nachricht.\n\n{controller}\n",
        ),
    },
}


def compose(name: str, lang: str, **values: str) -> Mail:
    """The mail `name` in `lang` (English for any other), with `kind` spelled out."""
    lang = lang if lang in _TEXTS else "en"
    template = _TEXTS[lang][name]
    if "kind" in values:
        values["kind"] = _KIND[lang].get(values["kind"], values["kind"])
    return Mail(template.subject, template.body.format(**values))


def format_date(day: date, lang: str) -> str:
    """A date as people write it: 15 December 2026 / 15.12.2026."""
    return day.strftime("%d.%m.%Y") if lang == "de" else day.strftime("%d %B %Y")
