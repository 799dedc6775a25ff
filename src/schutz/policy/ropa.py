"""Records of processing activities (Art. 30(1) GDPR), derived from one policy version.

The facts come from the policy file in the asked language; the headings from the gettext
catalogue (`presentation.py`), for the CLI's Markdown and the staff console alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from schutz.i18n import N_
from schutz.policy.presentation import policy_format
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
        ) + processors_of(policy, key, lang)
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


def processors_of(policy: Policy, purpose: str, lang: str) -> tuple[str, ...]:
    """The processors (Art. 28 GDPR) working for `purpose`, each with its contract, as the
    record names recipients (Art. 30(1)(d) GDPR)."""
    gettext = policy_format(lang).gettext
    text = gettext(N_("%(name)s: %(provider)s, processor under contract %(contract)s"))
    return tuple(
        text % {"name": p.name.get(lang), "provider": p.provider, "contract": p.contract}
        for p in policy.processors.values()
        if purpose in p.purposes
    )


COLUMNS = (
    N_("Purpose"),
    N_("Legal basis"),
    N_("Data subjects (sources)"),
    N_("Data"),
    N_("Recipients"),
    N_("Transfers"),
    N_("Erasure"),
)
"""The record's columns, as the staff console's records page heads them too."""


def render_ropa_markdown(policy: Policy, lang: str = "en") -> str:
    """The record as a Markdown table, headed by the controller (Art. 30(1)(a) GDPR), worded
    through the catalogue like every other presentation of the policy."""
    c = policy.controller
    gettext = policy_format(lang).gettext
    title = gettext(N_("Records of processing: %(controller)s, policy %(version)s")) % {
        "controller": c.name,
        "version": policy.version,
    }
    lines = [
        f"# {title}",
        "",
        ", ".join((*c.address.lines(), *(x for x in (c.fax, c.email) if x))),
        "",
        "| " + " | ".join(gettext(column) for column in COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
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
