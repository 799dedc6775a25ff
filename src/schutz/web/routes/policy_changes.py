"""What changed between versions of the privacy policy, in words (clause C13).

The readable diff of `/privacy/changes`: each changed value of the policy named and worded
in the visitor's language through the policy's presentation (`schutz.policy.presentation`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from schutz.errors import NotFound
from schutz.policy.diff import SINGLE_SECTIONS, Change, FieldChange, diff_policies
from schutz.policy.loader import PolicySet
from schutz.policy.presentation import (
    CHANNELS,
    COOKIE_CATEGORIES,
    OPT_OUTS,
    RETENTION_STARTS,
    RIGHTS,
    UNSUBSCRIBE,
    PolicyFormat,
    policy_format,
)
from schutz.policy.schema import Policy
from schutz.web.deps import PoliciesDep
from schutz.web.i18n import N_, pick_language, translations
from schutz.web.page_cache import cached_page
from schutz.web.templating import render

router = APIRouter(include_in_schema=False)

SECTIONS = {
    "purposes": N_("Purposes"),
    "recipients": N_("Recipients"),
    "cookies": N_("Cookies"),
    "embeds": N_("Social media buttons"),
    "sources": N_("Where the data comes from"),
    "categories": N_("Kinds of data"),
    "fields": N_("Form fields"),
    "legal_holds": N_("Records the law makes us keep"),
    "controller": N_("Who is responsible"),
    "analytics": N_("Web analytics"),
    "newsletter": N_("Newsletter"),
    "rights": N_("Your rights"),
    "general": N_("Your right to object"),
}


# What a changed value means, by its path in the policy (language suffix removed) or the
# path's last part. Paths not listed here (staff roles, internal flags) are not shown.
FIELD_LABELS = {
    "address": N_("Address"),
    "available": N_("Rights offered"),
    "basis": N_("Law"),
    "categories": N_("Data used"),
    "category": N_("Category"),
    "channels": N_("How to use them"),
    "contact_form_url": N_("Contact form"),
    "deadline": N_("Answer within"),
    "description": N_("Description"),
    "double_opt_in": N_("Sign-up must be confirmed"),
    "duration": N_("Kept for"),
    "email": N_("E-mail"),
    "fax": N_("Fax"),
    "fields": N_("Data asked for"),
    "first_party": N_("Runs on our own servers"),
    "ip_truncation.ipv4_prefix": N_("Bits of an IPv4 address kept"),
    "ip_truncation.ipv6_prefix": N_("Bits of an IPv6 address kept"),
    "label": N_("Label"),
    "leaves_site": N_("Data goes to the provider"),
    "legal_basis": N_("Legal basis"),
    "name": N_("Name"),
    "note": N_("Note"),
    "objectable": N_("You can object"),
    "objection_channels": N_("Ways to object"),
    "opt_out": N_("Ways to opt out"),
    "payload": N_("Fields sent"),
    "period": N_("Kept for"),
    "phone": N_("Telephone"),
    "privacy_policy_url": N_("Provider's privacy policy"),
    "provider": N_("Provider"),
    "provider.name": N_("Provider"),
    "purpose": N_("What it does"),
    "purposes": N_("Purposes"),
    "raw_data_retention": N_("Single visits deleted after"),
    "records": N_("What is recorded"),
    "requires_consent": N_("Needs your consent"),
    "retention.note": N_("How long we keep it"),
    "retention.period": N_("Retention period"),
    "retention.start": N_("Counted from"),
    "sends": N_("What loading it sends"),
    "start": N_("Counted from"),
    "two_click": N_("Loads only after a click"),
    "unsubscribe": N_("Ways to unsubscribe"),
}


ADDRESS_PARTS = ("street", "postal_code", "city", "country")


_DURATION_FIELDS = frozenset({"period", "duration", "deadline", "raw_data_retention"})


@dataclass(frozen=True)
class FieldRow:
    """One changed value, in words: whole values, or the items a list gained and lost."""

    label: str
    old: str
    new: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChangeRow:
    """An entry of the policy that was added, removed or changed."""

    entry: str
    kind: str
    detail: str
    fields: tuple[FieldRow, ...]


@dataclass(frozen=True)
class ChangeSet:
    """The changes from `old` to `new`, grouped under translated section titles."""

    old: Policy
    new: Policy
    sections: tuple[tuple[str, tuple[ChangeRow, ...]], ...]


def _join_addresses(fields: tuple[FieldChange, ...]) -> list[FieldChange]:
    """Street, postal code, city and country of one address become one change."""
    out: list[FieldChange] = []
    seen: dict[str, int] = {}
    for fc in fields:
        head, _, part = fc.path.rpartition(".")
        if not head.endswith("address") or part not in ADDRESS_PARTS:
            out.append(fc)
            continue
        if head not in seen:
            seen[head] = len(out)
            out.append(FieldChange(head, [], []))
        joined = out[seen[head]]
        old = [*joined.old, fc.old] if fc.old is not None else joined.old
        new = [*joined.new, fc.new] if fc.new is not None else joined.new
        out[seen[head]] = FieldChange(head, old, new)
    return [
        FieldChange(fc.path, ", ".join(fc.old) or None, ", ".join(fc.new) or None)
        if fc.path.endswith("address")
        else fc
        for fc in out
    ]


def _field_label(path: str) -> str | None:
    parts = path.split(".")
    for start in range(len(parts)):
        label = FIELD_LABELS.get(".".join(parts[start:]))
        if label:
            return label
    return None


class ChangeWords:
    """Puts a `PolicyDiff` into the words of one language for the changes page."""

    def __init__(self, fmt: PolicyFormat, old: Policy, new: Policy) -> None:
        self.fmt, self.old, self.new = fmt, old, new
        self._other = ".de" if fmt.lang != "de" else ".en"

    def change_set(self) -> ChangeSet:
        diff = diff_policies(self.old, self.new)
        sections = []
        for section in dict.fromkeys(c.section for c in diff.changes):
            rows = tuple(self.row(change) for change in diff.in_section(section))
            rows = tuple(row for row in rows if row.kind != "changed" or row.fields)
            if rows:
                sections.append((self.fmt.label(SECTIONS, section), rows))
        return ChangeSet(self.old, self.new, tuple(sections))

    def row(self, change: Change) -> ChangeRow:
        fields = tuple(
            row for fc in _join_addresses(change.fields) if (row := self.field(fc.path, fc))
        )
        value = change.new if change.kind == "added" else change.old
        return ChangeRow(
            entry=self.entry(change.section, change.key, value),
            kind=change.kind,
            detail=self.detail(change.section, value),
            fields=fields,
        )

    def entry(self, section: str, key: str, value: object) -> str:
        """The entry's name as a visitor knows it."""
        if section in SINGLE_SECTIONS:
            return self.fmt.label(SECTIONS, section)
        if section == "categories":
            return (self.new if key in self.new.categories else self.old).category_name(
                key, self.fmt.lang
            )
        for policy in (self.new, self.old):
            item = getattr(policy, section, {})
            if isinstance(item, dict) and key in item:
                name = getattr(item[key], "name", None)
                if isinstance(name, str):
                    return name
                if name is not None:
                    return str(name.get(self.fmt.lang))
        if section == "cookies" and isinstance(value, dict) and value.get("label"):
            return f"{key} ({value['label']})"
        return key

    def detail(self, section: str, value: object) -> str:
        """A line under an added or removed entry, so it need not be looked up."""
        if not isinstance(value, dict):
            return ""
        if section == "cookies":
            category = self.fmt.label(COOKIE_CATEGORIES, str(value.get("category")))
            return (
                f"{category} · {value.get('provider')} · {self.fmt.duration(value.get('duration'))}"
            )
        text = value.get("description")
        if isinstance(text, dict):
            return str(text.get(self.fmt.lang, ""))
        return ""

    def field(self, path: str, fc: FieldChange) -> FieldRow | None:
        if path.endswith(self._other):
            return None
        bare = path.removesuffix(f".{self.fmt.lang}")
        label = _field_label(bare)
        if label is None:
            return None
        leaf = bare.rsplit(".", 1)[-1]
        return FieldRow(
            label=self.fmt.gettext(label),
            old=self.value(bare, leaf, fc.old),
            new=self.value(bare, leaf, fc.new),
            added=tuple(self.item(leaf, i) for i in fc.added_items),
            removed=tuple(self.item(leaf, i) for i in fc.removed_items),
        )

    def value(self, path: str, leaf: str, value: object) -> str:
        gettext = self.fmt.gettext
        if value is None or value == []:
            return "—"
        if isinstance(value, bool):
            return gettext("yes") if value else gettext("no")
        if isinstance(value, list):
            return self.fmt.words([self.item(leaf, i) for i in value])
        if leaf in _DURATION_FIELDS:
            return self.fmt.duration(str(value))
        if leaf == "legal_basis":
            return self.fmt.legal_basis(str(value))
        if leaf == "start":
            return self.fmt.label(RETENTION_STARTS, str(value))
        if leaf == "category" and not path.startswith("categories"):
            return self.fmt.label(COOKIE_CATEGORIES, str(value))
        return str(value)

    def item(self, leaf: str, item: object) -> str:
        key = str(item)
        tables: dict[str, Mapping[str, str]] = {
            "channels": CHANNELS,
            "objection_channels": CHANNELS,
            "unsubscribe": UNSUBSCRIBE,
            "opt_out": OPT_OUTS,
            "available": {k: v for k, (v, _) in RIGHTS.items()},
        }
        if leaf in tables:
            return self.fmt.label(tables[leaf], key)
        if leaf == "categories":
            policy = self.new if key in self.new.categories else self.old
            return policy.category_name(key, self.fmt.lang)
        if leaf == "purposes":
            policy = self.new if key in self.new.purposes else self.old
            return policy.purposes[key].name.get(self.fmt.lang) if key in policy.purposes else key
        return key


def unknown_version(request: Request, version: str) -> HTMLResponse:
    gettext = translations(pick_language(request)).gettext
    return render(
        request,
        "error.html",
        {
            "status": 404,
            "message": gettext("There is no version “%(version)s” of the privacy policy.")
            % {"version": version},
            "back_url": "/privacy/versions",
            "back_label": gettext("See all versions"),
        },
        status_code=404,
    )


@router.get("/privacy/changes", response_class=HTMLResponse)
async def policy_changes(
    request: Request,
    policies: PoliciesDep,
    from_version: Annotated[str | None, Query(alias="from")] = None,
    to_version: Annotated[str | None, Query(alias="to")] = None,
) -> Response:
    """What changed between versions: one pair with `?from=&to=`, else every step, newest first."""

    def build() -> Response:
        return _changes_page(request, policies, from_version, to_version)

    return await cached_page(request, build)


def _changes_page(
    request: Request, policies: PolicySet, from_version: str | None, to_version: str | None
) -> Response:
    fmt = policy_format(pick_language(request))
    versions = list(policies)
    try:
        pairs = _pairs(policies, versions, from_version, to_version)
    except NotFound as exc:
        return unknown_version(request, str(exc.args[0]) if exc.args else "")
    change_sets = [ChangeWords(fmt, old, new).change_set() for old, new in pairs]
    return render(
        request,
        "privacy/changes.html",
        {
            "change_sets": change_sets,
            "fmt": fmt,
            "versions": versions,
            "from_version": pairs[0][0].version if len(pairs) == 1 else None,
            "to_version": pairs[0][1].version if len(pairs) == 1 else None,
        },
    )


def _pairs(
    policies: PolicySet, versions: list[Policy], old: str | None, new: str | None
) -> list[tuple[Policy, Policy]]:
    """The version pairs to compare; a missing end defaults to the neighbour of the other."""
    if old is None and new is None:
        return list(reversed(list(pairwise(versions))))
    for asked in (old, new):
        if asked is not None and asked not in {p.version for p in versions}:
            raise NotFound(asked)
    if new is None:
        index = versions.index(policies.get(str(old)))
        after = versions[index + 1] if index + 1 < len(versions) else versions[index]
        return [(versions[index], after)]
    if old is None:
        index = versions.index(policies.get(new))
        return [(versions[max(index - 1, 0)], versions[index])]
    return [(policies.get(old), policies.get(new))]
