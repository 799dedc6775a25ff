"""Records of processing activities (Art. 30(1) GDPR), derived from one policy version."""

from __future__ import annotations

from dataclasses import dataclass

from schutz.policy.schema import Policy


@dataclass(frozen=True, slots=True)
class ProcessingRecord:
    """One row of the record: a purpose and what Art. 30(1)(b)-(f) GDPR asks about it."""

    purpose: str
    name: str
    legal_basis: str
    subjects: tuple[str, ...]
    categories: tuple[str, ...]
    recipients: tuple[str, ...]
    transfers: str
    erasure: str


def records_of_processing(policy: Policy, lang: str = "en") -> tuple[ProcessingRecord, ...]:
    """One record per purpose; data subjects are named by the sources that feed it."""
    analytics = policy.analytics
    rows = []
    for key, purpose in policy.purposes.items():
        subjects = tuple(
            source.name.get(lang) for source in policy.sources.values() if key in source.purposes
        )
        recipients = tuple(
            r.name.get(lang) for r in policy.recipients.values() if key in r.purposes
        )
        transfers = "-"
        if analytics and analytics.purpose == key and analytics.leaves_site:
            transfers = analytics.provider.name
        rows.append(
            ProcessingRecord(
                purpose=key,
                name=purpose.name.get(lang),
                legal_basis=purpose.legal_basis.citation(lang),
                subjects=subjects,
                categories=tuple(policy.category_name(c, lang) for c in purpose.categories),
                recipients=recipients,
                transfers=transfers,
                erasure=purpose.retention.note.get(lang),
            )
        )
    return tuple(rows)


def render_ropa_markdown(policy: Policy, lang: str = "en") -> str:
    """The record as a Markdown table, headed by the controller (Art. 30(1)(a) GDPR)."""
    c = policy.controller
    lines = [
        f"# Records of processing: {c.name}, policy {policy.version}",
        "",
        ", ".join((*c.address.lines(), *(x for x in (c.fax, c.email) if x))),
        "",
        "| purpose | legal basis | data subjects (sources) | data | recipients"
        " | transfers | erasure |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in records_of_processing(policy, lang):
        cells = (
            f"{r.name} (`{r.purpose}`)",
            r.legal_basis,
            ", ".join(r.subjects) or "-",
            ", ".join(r.categories),
            ", ".join(r.recipients) or "-",
            r.transfers,
            r.erasure,
        )
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    return "\n".join(lines) + "\n"
