"""The policy as sections of items, worded by `PolicyFormat`: what every reader is shown.

One model for the Markdown (`render.py`) and any other plain channel: a section has a
heading, optional lines of text and items; an item has a title, a text and facts (label,
value). Facts come from the policy file; words from the gettext catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schutz.i18n import N_
from schutz.policy.presentation import CHANNELS, PolicyFormat
from schutz.policy.schema import Policy


@dataclass(frozen=True, slots=True)
class Item:
    """One entry of a section; `key` names what it shows (a purpose's key) where it has one."""

    title: str = ""
    text: str = ""
    facts: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    key: str = ""


@dataclass(frozen=True, slots=True)
class Section:
    key: str
    heading: str
    lines: tuple[str, ...] = ()
    items: tuple[Item, ...] = ()
    after: tuple[str, ...] = field(default=())


def sections_by_key(policy: Policy, fmt: PolicyFormat) -> dict[str, Section]:
    """The outline's sections by key (`purposes`, `rights`, ...), for a page to place."""
    return {section.key: section for section in outline(policy, fmt)}


def outline(policy: Policy, fmt: PolicyFormat) -> tuple[Section, ...]:
    """The policy's sections in reading order, in `fmt`'s language."""
    sections = [
        _controller(policy, fmt),
        _purposes(policy, fmt, exceptions=False),
        _purposes(policy, fmt, exceptions=True),
        _recipients(policy, fmt),
        Section(
            "objection",
            fmt.gettext(N_("Your right to object")),
            items=tuple(Item(text=fmt.label(CHANNELS, c.value)) for c in policy.objection_channels),
        ),
        _cookies(policy, fmt),
    ]
    if policy.embeds:
        sections.append(_embeds(policy, fmt))
    sections.append(_rights(policy, fmt))
    return tuple(sections)


def _controller(policy: Policy, fmt: PolicyFormat) -> Section:
    c = policy.controller
    lines = ["  \n".join((c.name, *c.address.lines()))]
    if c.fax:
        lines.append(f"{fmt.gettext(N_('Fax'))}: {c.fax}")
    if c.contact_form_url:
        lines.append(f"{fmt.gettext(N_('Contact form'))}: {c.contact_form_url}")
    return Section("controller", fmt.gettext(N_("Who is responsible")), lines=tuple(lines))


def _purposes(policy: Policy, fmt: PolicyFormat, *, exceptions: bool) -> Section:
    heading = (
        N_("Other uses permitted only in these cases")
        if exceptions
        else N_("What we use your data for")
    )
    items = []
    for key, purpose in policy.purposes.items():
        if purpose.exception != exceptions:
            continue
        notes: tuple[str, ...] = ()
        if purpose.requires_consent:
            notes = (
                fmt.gettext(N_("Only with your consent, which you may withdraw at any time.")),
            )
        elif purpose.objectable:
            notes = (fmt.gettext(N_("You may object at any time.")),)
        facts = (
            (fmt.gettext(N_("Legal basis")), fmt.legal_basis(purpose.legal_basis)),
            (fmt.gettext(N_("Data used")), fmt.categories(policy, tuple(purpose.categories))),
            (fmt.gettext(N_("How long we keep it")), purpose.retention.note.get(fmt.lang)),
        )
        name, text = purpose.name.get(fmt.lang), purpose.description.get(fmt.lang)
        items.append(Item(name, text, facts, notes, key=key))
    section = "exceptions" if exceptions else "purposes"
    return Section(section, fmt.gettext(heading), items=tuple(items))


def _recipients(policy: Policy, fmt: PolicyFormat) -> Section:
    items = tuple(
        Item(r.name.get(fmt.lang), r.description.get(fmt.lang)) for r in policy.recipients.values()
    )
    never = fmt.gettext(
        N_("We never sell your personal data, and we do not market it in any other way.")
    )
    return Section(
        "recipients", fmt.gettext(N_("Who receives your data")), items=items, after=(never,)
    )


def _cookies(policy: Policy, fmt: PolicyFormat) -> Section:
    items = []
    for cookie in policy.cookies:
        label = f" ({cookie.label.get(fmt.lang)})" if cookie.label else ""
        duration = fmt.duration(cookie.duration)
        purpose = cookie.purpose.get(fmt.lang)
        items.append(Item(text=f"`{cookie.name}`{label}, {cookie.provider}, {duration}: {purpose}"))
    return Section("cookies", fmt.gettext(N_("Cookies")), items=tuple(items))


def _embeds(policy: Policy, fmt: PolicyFormat) -> Section:
    items = []
    for embed in policy.embeds.values():
        load = (
            N_("Loads only after you click it.") if embed.two_click else N_("Loads with the page.")
        )
        address = embed.provider.address.lines() if embed.provider.address else ()
        provider = ", ".join((embed.provider.name, *address))
        sends = f"{fmt.gettext(load)} {embed.sends.get(fmt.lang)}"
        items.append(Item(embed.name.get(fmt.lang), provider, notes=(sends,)))
    return Section("embeds", fmt.gettext(N_("Social media buttons")), items=tuple(items))


def _rights(policy: Policy, fmt: PolicyFormat) -> Section:
    rights = policy.rights
    items = []
    for right in rights.available:
        text, article = fmt.right(right.value)
        items.append(Item(text=f"{text} ({article})" if article else text))
    after = [rights.note.get(fmt.lang)]
    if rights.deadline:
        after.append(
            fmt.gettext(N_("We answer within %(deadline)s."))
            % {"deadline": fmt.duration(rights.deadline)}
        )
    return Section("rights", fmt.gettext(N_("Your rights")), items=tuple(items), after=tuple(after))
