"""The policy as Markdown in English or German, for the CLI and plain-text channels.

Worded by the same presentation as the page (`outline.py` over `presentation.py`): facts
from the policy file, sentences from the gettext catalogue.
"""

from __future__ import annotations

from schutz.i18n import N_
from schutz.policy.outline import Item, Section, outline
from schutz.policy.presentation import policy_format
from schutz.policy.schema import Duration, Policy, Retention


def describe_duration(value: Duration, lang: str = "en") -> str:
    """`P2Y` as "2 years" / "2 Jahre"; "session" as until the browser closes."""
    fmt = policy_format(lang)
    if value == "session":
        return fmt.gettext(N_("until you close the browser"))
    return ", ".join(fmt.duration_parts(value)) or value


def describe_retention(retention: Retention, lang: str = "en") -> str:
    return retention.note.get(lang)


def _item(item: Item) -> list[str]:
    if not item.facts:  # a list entry
        if item.title and item.text:
            return [f"- **{item.title}**: {item.text}"]
        return [f"- {item.title or item.text}", *(f"  {n}" for n in item.notes)]
    lines = ["", f"### {item.title}", "", item.text, ""]
    lines += [f"- {label}: {value}" for label, value in item.facts]
    return lines + [f"- {note}" for note in item.notes]


def _section(section: Section) -> list[str]:
    out = ["", f"## {section.heading}"]
    for line in section.lines:
        out += ["", line]
    if section.items and not section.items[0].facts and section.key != "embeds":
        out.append("")
    for item in section.items:
        if section.key == "embeds":
            out += ["", f"### {item.title}", "", item.text, "", *item.notes]
        else:
            out += _item(item)
    for line in section.after:
        out += ["", line]
    return out


def render_markdown(policy: Policy, lang: str = "en") -> str:
    """The whole policy as Markdown; every sentence comes from the policy or the catalogue."""
    fmt = policy_format(lang)
    version = fmt.gettext(N_("Version %(version)s, in force from %(date)s")) % {
        "version": policy.version,
        "date": fmt.date(policy.effective_date),
    }
    out = [f"# {fmt.gettext(N_('Privacy policy'))}", "", version]
    for section in outline(policy, fmt):
        out += _section(section)
    return "\n".join(out) + "\n"
