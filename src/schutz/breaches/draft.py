"""The words of a breach notification: the draft for the supervisory authority (Art. 33(3)
GDPR) and the mail to the affected subjects (Art. 34(2)), in English and German.

The draft is a starting point the DPO completes and sends through the authority's own
form; it holds what Art. 33(3) asks for: (a) the nature of the breach with the categories
and approximate numbers of subjects and records, (b) a contact point, (c) the likely
consequences, (d) the measures taken or proposed, plus the reasons for any delay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schutz.breaches.clock import deadline, was_late
from schutz.breaches.models import Breach
from schutz.policy.schema import Policy

_LABELS = {
    "en": {
        "title": "Notification of a personal data breach (Art. 33 GDPR)",
        "controller": "1. Controller",
        "contact": "2. Contact point for more information (Art. 33(3)(b))",
        "nature": "3. Nature of the breach (Art. 33(3)(a))",
        "occurred": "Period of the breach",
        "unknown": "not yet known",
        "aware": "Controller aware since",
        "deadline": "72 hours end at",
        "categories": "Categories of personal data concerned",
        "sources": "Collected through",
        "all_sources": "all channels",
        "subjects": "Approximate number of data subjects concerned",
        "records": "Approximate number of personal data records concerned",
        "consequences": "4. Likely consequences (Art. 33(3)(c))",
        "measures": "5. Measures taken or proposed (Art. 33(3)(d))",
        "delay": "6. Reasons for notifying after 72 hours (Art. 33(1))",
        "subjects_told": "Data subjects informed (Art. 34)",
        "not_yet": "not yet",
        "to": "until",
    },
    "de": {
        "title": "Meldung einer Verletzung des Schutzes personenbezogener Daten (Art. 33 DSGVO)",
        "controller": "1. Verantwortlicher",
        "contact": "2. Anlaufstelle für weitere Informationen (Art. 33 Abs. 3 lit. b)",
        "nature": "3. Art der Verletzung (Art. 33 Abs. 3 lit. a)",
        "occurred": "Zeitraum der Verletzung",
        "unknown": "noch nicht bekannt",
        "aware": "Dem Verantwortlichen bekannt seit",
        "deadline": "Die 72 Stunden enden am",
        "categories": "Betroffene Kategorien personenbezogener Daten",
        "sources": "Erhoben über",
        "all_sources": "alle Wege",
        "subjects": "Ungefähre Zahl der betroffenen Personen",
        "records": "Ungefähre Zahl der betroffenen Datensätze",
        "consequences": "4. Wahrscheinliche Folgen (Art. 33 Abs. 3 lit. c)",
        "measures": "5. Ergriffene oder vorgeschlagene Maßnahmen (Art. 33 Abs. 3 lit. d)",
        "delay": "6. Gründe für die Meldung nach 72 Stunden (Art. 33 Abs. 1)",
        "subjects_told": "Betroffene Personen benachrichtigt (Art. 34)",
        "not_yet": "noch nicht",
        "to": "bis",
    },
}


def _when(moment: datetime | None, words: dict[str, str]) -> str:
    return words["unknown"] if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def _contact(policy: Policy) -> list[str]:
    controller = policy.controller
    lines = [controller.name, *controller.address.lines()]
    lines += [f"{label}: {value}" for label, value in (
        ("E-mail", controller.email), ("Fax", controller.fax), ("Tel.", controller.phone),
    ) if value]  # fmt: skip
    return lines


def category_names(policy: Policy, categories: list[str], lang: str) -> str:
    """The concerned categories in words; a parent key stands for the policy's categories
    below it (`user.contact.address` is street, postal code, city and country)."""
    keys = [k for c in categories for k in policy.categories if k == c or k.startswith(c + ".")]
    return ", ".join(policy.category_name(k, lang) for k in dict.fromkeys(keys))


def authority_draft(policy: Policy, breach: Breach, lang: str = "en") -> str:
    """The notification draft for the supervisory authority, as plain text in `lang`."""
    w = _LABELS.get(lang, _LABELS["en"])
    names: dict[str, str] = {str(k): src.name.get(lang) for k, src in policy.sources.items()}
    sources = ", ".join(names.get(s, s) for s in breach.sources)
    period = f"{_when(breach.occurred_from, w)} {w['to']} {_when(breach.occurred_until, w)}"
    lines = [
        w["title"], "", breach.title, "",
        w["controller"], *_contact(policy)[:4], "",
        w["contact"], *_contact(policy), "",
        w["nature"], breach.nature, "",
        f"{w['occurred']}: {period}",
        f"{w['aware']}: {_when(breach.aware_at, w)}",
        f"{w['deadline']}: {_when(deadline(breach), w)}",
        f"{w['categories']}: {category_names(policy, breach.categories, lang)}",
        f"{w['sources']}: {sources or w['all_sources']}",
        f"{w['subjects']}: {breach.affected_subjects}",
        f"{w['records']}: {breach.affected_records}", "",
        w["consequences"], breach.consequences, "",
        w["measures"], breach.measures, "",
        f"{w['subjects_told']}: {_when(breach.subjects_notified_at, w)}"
        if breach.subjects_notified_at else f"{w['subjects_told']}: {w['not_yet']}",
    ]  # fmt: skip
    if was_late(breach) or breach.delay_reason:
        lines += ["", w["delay"], breach.delay_reason or ""]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class Mail:
    subject: str
    body: str


_SUBJECT_MAIL = {
    "en": Mail(
        "A security incident concerns your personal data",
        "We must tell you that a security incident at our company concerns personal data we\n"
        "hold about you (Art. 34 GDPR). Concerned: {categories}.\n\n"
        "What happened:\n{nature}\n\nLikely consequences:\n{consequences}\n\n"
        "What we have done and are doing:\n{measures}\n\n"
        "If you have questions, please contact us:\n{contact}\n\nReference: {breach_id}\n",
    ),
    "de": Mail(
        "Ein Sicherheitsvorfall betrifft Ihre personenbezogenen Daten",
        "Wir müssen Ihnen mitteilen, dass ein Sicherheitsvorfall bei uns personenbezogene\n"
        "Daten betrifft, die wir über Sie gespeichert haben (Art. 34 DSGVO). Betroffen:\n"
        "{categories}.\n\n"
        "Was geschehen ist:\n{nature}\n\nWahrscheinliche Folgen:\n{consequences}\n\n"
        "Was wir unternommen haben und unternehmen:\n{measures}\n\n"
        "Bei Fragen wenden Sie sich bitte an uns:\n{contact}\n\nAktenzeichen: {breach_id}\n",
    ),
}


def subject_mail(policy: Policy, breach: Breach, lang: str = "en") -> Mail:
    """The Art. 34(2) mail in `lang`: in clear and plain language, the nature of the breach,
    the contact point, the likely consequences and the measures (Art. 33(3)(b)-(d)). The
    DPO's own texts go in as written."""
    lang = lang if lang in _SUBJECT_MAIL else "en"
    template = _SUBJECT_MAIL[lang]
    return Mail(
        template.subject,
        template.body.format(
            categories=category_names(policy, breach.categories, lang),
            nature=breach.nature,
            consequences=breach.consequences,
            measures=breach.measures,
            contact="\n".join(_contact(policy)),
            breach_id=breach.id,
        ),
    )
