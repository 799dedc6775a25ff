"""The policy as Markdown in English or German, for the CLI and plain-text channels."""

from __future__ import annotations

from schutz.policy.schema import Duration, Policy, Retention

_WORDS: dict[str, dict[str, str]] = {
    "title": {"en": "Privacy policy", "de": "Datenschutzerklärung"},
    "version": {"en": "Version {v}, in force from {d}", "de": "Fassung {v}, gültig ab {d}"},
    "controller": {"en": "Who is responsible", "de": "Verantwortlicher"},
    "fax": {"en": "Fax", "de": "Fax"},
    "contact": {"en": "Contact form", "de": "Kontaktformular"},
    "purposes": {"en": "What we use your data for", "de": "Wofür wir Ihre Daten nutzen"},
    "exceptions": {
        "en": "Other uses permitted only in these cases",
        "de": "Andere Nutzungen nur in diesen Fällen",
    },
    "basis": {"en": "Legal basis", "de": "Rechtsgrundlage"},
    "data": {"en": "Data", "de": "Daten"},
    "kept": {"en": "Kept", "de": "Aufbewahrung"},
    "objectable": {
        "en": "You may object at any time.",
        "de": "Sie können jederzeit widersprechen.",
    },
    "consent": {
        "en": "Only with your consent, which you may withdraw at any time.",
        "de": "Nur mit Ihrer Einwilligung, die Sie jederzeit widerrufen können.",
    },
    "recipients": {"en": "Who receives data", "de": "Wer Daten erhält"},
    "no_sale": {
        "en": "We never sell your data or market it in any other way.",
        "de": "Wir verkaufen Ihre Daten nie und vermarkten sie auch nicht anders.",
    },
    "object": {"en": "How to object", "de": "So widersprechen Sie"},
    "cookies": {"en": "Cookies", "de": "Cookies"},
    "embeds": {"en": "Social media", "de": "Soziale Medien"},
    "two_click": {
        "en": "Loads only after you click it.",
        "de": "Wird erst nach Ihrem Klick geladen.",
    },
    "direct": {"en": "Loads with the page.", "de": "Wird mit der Seite geladen."},
    "rights": {"en": "Your rights", "de": "Ihre Rechte"},
    "deadline": {"en": "We answer within {d}.", "de": "Wir antworten innerhalb von {d}."},
    "session": {"en": "until you close the browser", "de": "bis Sie den Browser schließen"},
    "until": {"en": "until", "de": "bis"},
}
_UNITS = {"Y": ("year", "years", "Jahr", "Jahre"), "M": ("month", "months", "Monat", "Monate")}
_UNITS["D"] = ("day", "days", "Tag", "Tage")
_CHANNELS = {
    "contact_form": {"en": "contact form", "de": "Kontaktformular"},
    "post": {"en": "post", "de": "Post"},
    "fax": {"en": "fax", "de": "Fax"},
    "email": {"en": "e-mail", "de": "E-Mail"},
    "phone": {"en": "telephone", "de": "Telefon"},
    "privacy_centre": {"en": "privacy centre (My account)", "de": "Datenschutzcenter (Mein Konto)"},
}

_RIGHTS = {
    "access": {"en": "access to your data (Art. 15 GDPR)", "de": "Auskunft (Art. 15 DSGVO)"},
    "rectification": {
        "en": "correction (Art. 16 GDPR)",
        "de": "Berichtigung (Art. 16 DSGVO)",
    },
    "completion": {
        "en": "completion of incomplete data (Art. 16 GDPR)",
        "de": "Vervollständigung (Art. 16 DSGVO)",
    },
    "erasure": {"en": "erasure (Art. 17 GDPR)", "de": "Löschung (Art. 17 DSGVO)"},
    "restriction": {
        "en": "restriction of processing (Art. 18 GDPR)",
        "de": "Einschränkung der Verarbeitung (Art. 18 DSGVO)",
    },
    "portability": {
        "en": "data portability (Art. 20 GDPR)",
        "de": "Datenübertragbarkeit (Art. 20 DSGVO)",
    },
    "objection": {"en": "objection (Art. 21 GDPR)", "de": "Widerspruch (Art. 21 DSGVO)"},
}


def word(key: str, lang: str) -> str:
    """A fixed phrase of the rendered policy in `lang` (English when unknown)."""
    phrases = _WORDS[key]
    return phrases.get(lang, phrases["en"])


def describe_duration(value: Duration, lang: str = "en") -> str:
    """`P2Y` as "2 years" / "2 Jahre"; "session" as until the browser closes."""
    if value == "session":
        return word("session", lang)
    parts: list[str] = []
    number = ""
    for char in value.removeprefix("P"):
        if char.isdigit():
            number += char
            continue
        one, many, eins, viele = _UNITS[char]
        unit = (
            (eins if number == "1" else viele) if lang == "de" else (one if number == "1" else many)
        )
        parts.append(f"{number} {unit}")
        number = ""
    return ", ".join(parts)


def describe_retention(retention: Retention, lang: str = "en") -> str:
    return retention.note.get(lang)


def render_markdown(policy: Policy, lang: str = "en") -> str:
    """The whole policy as Markdown; every sentence comes from the policy or `_WORDS`."""
    c = policy.controller
    out = [
        f"# {word('title', lang)}",
        "",
        word("version", lang).format(v=policy.version, d=policy.effective_date.isoformat()),
        "",
        f"## {word('controller', lang)}",
        "",
        "  \n".join((c.name, *c.address.lines())),
    ]
    if c.fax:
        out.append(f"\n{word('fax', lang)}: {c.fax}")
    if c.contact_form_url:
        out.append(f"\n{word('contact', lang)}: {c.contact_form_url}")
    for exceptions in (False, True):
        heading = word("exceptions" if exceptions else "purposes", lang)
        out += ["", f"## {heading}"]
        for purpose in policy.purposes.values():
            if purpose.exception != exceptions:
                continue
            data = ", ".join(policy.category_name(cat, lang) for cat in purpose.categories)
            out += [
                "",
                f"### {purpose.name.get(lang)}",
                "",
                purpose.description.get(lang),
                "",
                f"- {word('basis', lang)}: {purpose.legal_basis.citation(lang)}",
                f"- {word('data', lang)}: {data}",
                f"- {word('kept', lang)}: {describe_retention(purpose.retention, lang)}",
            ]
            if purpose.requires_consent:
                out.append(f"- {word('consent', lang)}")
            elif purpose.objectable:
                out.append(f"- {word('objectable', lang)}")
    out += ["", f"## {word('recipients', lang)}", ""]
    out += [
        f"- **{r.name.get(lang)}**: {r.description.get(lang)}" for r in policy.recipients.values()
    ]
    out += ["", word("no_sale", lang), "", f"## {word('object', lang)}", ""]
    out += [f"- {_CHANNELS[ch.value][lang]}" for ch in policy.objection_channels]
    out += ["", f"## {word('cookies', lang)}", ""]
    for cookie in policy.cookies:
        label = f" ({cookie.label.get(lang)})" if cookie.label else ""
        duration = describe_duration(cookie.duration, lang)
        out.append(
            f"- `{cookie.name}`{label}, {cookie.provider}, {duration}: {cookie.purpose.get(lang)}"
        )
    if policy.embeds:
        out += ["", f"## {word('embeds', lang)}"]
        for embed in policy.embeds.values():
            load = word("two_click" if embed.two_click else "direct", lang)
            provider = ", ".join(
                (
                    embed.provider.name,
                    *(embed.provider.address.lines() if embed.provider.address else ()),
                )
            )
            heading = f"### {embed.name.get(lang)}"
            out += ["", heading, "", provider, "", f"{load} {embed.sends.get(lang)}"]
    rights = policy.rights
    out += ["", f"## {word('rights', lang)}", ""]
    out += [f"- {_RIGHTS[right.value][lang]}" for right in rights.available]
    out += ["", rights.note.get(lang)]
    if rights.deadline:
        out += ["", word("deadline", lang).format(d=describe_duration(rights.deadline, lang))]
    return "\n".join(out) + "\n"
