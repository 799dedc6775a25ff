"""The privacy policy for people: the version in force, earlier versions, changes, a feed.

Every sentence on these pages is a template string in the visitor's language; every fact
(purposes, recipients, cookies, addresses, dates) comes from the policy file (clause C13,
C17, C26). Nothing here decides anything: it formats what the policy package says.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Annotated, Literal

from babel.core import Locale
from babel.dates import format_date
from babel.lists import format_list
from babel.units import format_unit
from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from schutz.clock import utcnow
from schutz.errors import NotFound
from schutz.policy.diff import SINGLE_SECTIONS, Change, FieldChange, diff_policies
from schutz.policy.loader import PolicySet
from schutz.policy.schema import LegalBasis, Policy
from schutz.web.deps import PoliciesDep, SettingsDep
from schutz.web.i18n import babel_locale, pick_language, translations
from schutz.web.page_cache import cached_page
from schutz.web.templating import render

router = APIRouter(include_in_schema=False)

BABEL_LOCALES = {"en": "en_GB", "de": "de_DE"}
ATOM_MEDIA_TYPE = "application/atom+xml"


def N_(message: str) -> str:  # noqa: N802 - the name gettext tools look for
    """Mark `message` for extraction; it is translated where it is shown."""
    return message


LEGAL_BASES = {
    "consent": N_("your consent"),
    "contract": N_("a contract with you, or steps before one"),
    "legal_obligation": N_("a legal obligation"),
    "vital_interests": N_("protecting vital interests"),
    "public_task": N_("a task in the public interest"),
    "legitimate_interests": N_("our legitimate interests"),
}
CHANNELS = {
    "contact_form": N_("Through our contact form"),
    "post": N_("By post"),
    "fax": N_("By fax"),
    "email": N_("By e-mail"),
    "phone": N_("By telephone"),
    "privacy_centre": N_("In My account, our privacy centre"),
}
RIGHTS = {
    "access": (N_("See the data we hold about you and get a copy"), "15"),
    "rectification": (N_("Have wrong data corrected"), "16"),
    "completion": (N_("Have incomplete data completed"), "16"),
    "erasure": (N_("Have your data deleted"), "17"),
    "restriction": (N_("Have the use of your data restricted"), "18"),
    "portability": (N_("Receive your data in a machine-readable format"), "20"),
    "objection": (N_("Object to the use of your data"), "21"),
}
COOKIE_CATEGORIES = {
    "essential": N_("Strictly necessary"),
    "analytics": N_("Analytics"),
    "embeds": N_("Social media"),
    "preferences": N_("Preferences"),
}
OPT_OUTS = {
    "browser_settings": N_("Block or delete cookies in your browser's settings."),
    "browser_addon": N_("Install a browser add-on that blocks the analytics service."),
    "opt_out_cookie": N_("Switch analytics off on our opt-out page."),
    "do_not_track": N_("Turn on Do Not Track in your browser: we count nothing then."),
    "global_privacy_control": N_(
        "Turn on Global Privacy Control in your browser: we count nothing then."
    ),
}
UNSUBSCRIBE = {
    "newsletter_link": N_("the unsubscribe link in every newsletter"),
    "one_click": N_("your mail program's unsubscribe button"),
    "my_account": N_("the newsletter switch in My account"),
}

ListStyle = Literal["standard", "or"]
RETENTION_STARTS = {
    "collection": N_("collection"),
    "last_contact": N_("your last contact with us"),
    "end_of_contract": N_("the end of the contract"),
    "end_of_calendar_year": N_("the end of the calendar year"),
    "withdrawal": N_("your withdrawal"),
    "purpose_fulfilled": N_("the purpose being fulfilled"),
}
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

_DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?")
_UNITS = ("duration-year", "duration-month", "duration-day")


@dataclass(frozen=True)
class PolicyFormat:
    """Turns a policy's values into words of one language: dates, durations and labels."""

    lang: str
    gettext: Callable[[str], str]

    @property
    def locale(self) -> Locale:
        return babel_locale(BABEL_LOCALES.get(self.lang, "en_GB"))

    def date(self, value: date) -> str:
        """`1 June 2013` or `1. Juni 2013`."""
        return format_date(value, "long", locale=self.locale)

    def duration(self, value: str | None) -> str:
        """An ISO 8601 period in words (`P2Y` is `2 years`); `session` ends with the browser."""
        if value is None:
            return ""
        if value == "session":
            return self.gettext("until the browser closes")
        match = _DURATION.fullmatch(value)
        if match is None:
            return value
        parts = [
            format_unit(int(amount), unit, length="long", locale=self.locale)
            for amount, unit in zip(match.groups(), _UNITS, strict=True)
            if amount and int(amount)
        ]
        return format_list(parts, locale=self.locale) if parts else value

    def label(self, table: Mapping[str, str], key: str) -> str:
        """The translated label of `key` in one of this module's tables; the key if unknown."""
        return self.gettext(table[key]) if key in table else key

    def legal_basis(self, basis: LegalBasis | str) -> str:
        """`our legitimate interests (Art. 6(1)(f) GDPR)`, cited the German way in German."""
        key = str(basis)
        letter = "abcdef"[list(LEGAL_BASES).index(key)] if key in LEGAL_BASES else ""
        citation = (
            f"Art. 6 Abs. 1 lit. {letter} DSGVO"
            if self.lang == "de"
            else f"Art. 6(1)({letter}) GDPR"
        )
        return f"{self.label(LEGAL_BASES, key)} ({citation})" if letter else key

    def right(self, key: str) -> tuple[str, str]:
        """A right's description and its article (`Art. 15 GDPR` / `Art. 15 DSGVO`)."""
        text, article = RIGHTS.get(key, (key, ""))
        law = "DSGVO" if self.lang == "de" else "GDPR"
        return self.gettext(text), f"Art. {article} {law}" if article else ""

    def categories(self, policy: Policy, keys: tuple[str, ...]) -> str:
        """The human names of taxonomy categories, as one list (`Name, City, Country`)."""
        # Commas only: names such as "Payment reference and amount" hold an "and" already.
        return ", ".join(policy.category_name(key, self.lang) for key in keys)

    def words(self, items: list[str], style: ListStyle = "standard") -> str:
        """Items as one list in this language's manner."""
        return format_list(items, style=style, locale=self.locale) if items else ""

    def field_categories(self, policy: Policy, fields: Iterable[str]) -> str:
        """The categories behind API field names (`postal_address.city` is `City`)."""
        keys = tuple(dict.fromkeys(policy.fields[f] for f in fields if f in policy.fields))
        return self.categories(policy, keys)

    def purpose_names(self, policy: Policy, keys: Iterable[str]) -> str:
        """The purposes' names in this language, as one list."""
        names = [policy.purposes[k].name.get(self.lang) for k in keys if k in policy.purposes]
        return format_list(names, locale=self.locale) if names else ""

    def labels(
        self, table: Mapping[str, str], keys: Iterable[str], style: ListStyle = "standard"
    ) -> str:
        """Several labels as one list: `a, b or c` / `a, b oder c`."""
        items = [self.label(table, key) for key in keys]
        return format_list(items, style=style, locale=self.locale) if items else ""


@dataclass(frozen=True)
class VersionEntry:
    """One version in the history: when it applied and how it stands today."""

    policy: Policy
    until: date | None
    status: Literal["current", "earlier", "upcoming"]


def version_history(policies: PolicySet, today: date) -> list[VersionEntry]:
    """Every version, oldest first, with the day its successor took over."""
    try:
        current = policies.in_force(today).version
    except NotFound:
        current = None
    versions = list(policies)
    entries = []
    for index, policy in enumerate(versions):
        successor = versions[index + 1] if index + 1 < len(versions) else None
        if policy.version == current:
            status: Literal["current", "earlier", "upcoming"] = "current"
        elif policy.effective_date > today:
            status = "upcoming"
        else:
            status = "earlier"
        entries.append(
            VersionEntry(policy, successor.effective_date if successor else None, status)
        )
    return entries


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


def policy_format(lang: str) -> PolicyFormat:
    return PolicyFormat(lang, translations(lang).gettext)


def _entry(history: list[VersionEntry], version: str) -> VersionEntry:
    return next(e for e in history if e.policy.version == version)


def _page_context(request: Request, policies: PolicySet, policy: Policy) -> dict[str, object]:
    lang = pick_language(request)
    history = version_history(policies, utcnow().date())
    entry = _entry(history, policy.version)
    index = history.index(entry)
    return {
        "policy": policy,
        "entry": entry,
        "previous": history[index - 1].policy if index > 0 else None,
        "history": history,
        "fmt": policy_format(lang),
        "labels": {
            "channels": CHANNELS,
            "cookie_categories": COOKIE_CATEGORIES,
            "opt_outs": OPT_OUTS,
            "unsubscribe": UNSUBSCRIBE,
        },
    }


def _unknown_version(request: Request, version: str) -> HTMLResponse:
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


@router.get("/privacy", response_class=HTMLResponse)
async def privacy_policy(request: Request, policies: PoliciesDep) -> Response:
    """The policy in force today, in the visitor's language."""

    def build() -> Response:
        policy = policies.in_force(utcnow().date())
        return render(request, "privacy/policy.html", _page_context(request, policies, policy))

    return await cached_page(request, build)


@router.get("/privacy/versions", response_class=HTMLResponse)
async def policy_versions(request: Request, policies: PoliciesDep) -> Response:
    """Every version with its effective date, newest first (clause C26)."""

    def build() -> Response:
        fmt = policy_format(pick_language(request))
        history = version_history(policies, utcnow().date())
        return render(
            request, "privacy/versions.html", {"history": list(reversed(history)), "fmt": fmt}
        )

    return await cached_page(request, build)


@router.get("/privacy/versions/{version}", response_class=HTMLResponse)
async def policy_version(request: Request, policies: PoliciesDep, version: str) -> Response:
    """One version as it was (or will be) published."""

    def build() -> Response:
        try:
            policy = policies.get(version)
        except NotFound:
            return _unknown_version(request, version)
        return render(request, "privacy/policy.html", _page_context(request, policies, policy))

    return await cached_page(request, build)


@router.get("/privacy/feed.atom")
async def policy_feed(request: Request, policies: PoliciesDep, settings: SettingsDep) -> Response:
    """An Atom 1.0 feed (RFC 4287) with one entry per version, so readers learn of changes."""

    def build() -> Response:
        lang = pick_language(request)
        trans = translations(lang)
        history = version_history(policies, utcnow().date())
        template = request.app.state.templates.get_template("privacy/feed.xml")
        body = template.render(
            lang=lang,
            base=settings.base_url.rstrip("/"),
            history=list(reversed(history)),
            latest=policies.latest,
            fmt=policy_format(lang),
            gettext=trans.gettext,
            ngettext=trans.ngettext,
            _=trans.gettext,
        )
        return Response(body, media_type=ATOM_MEDIA_TYPE, headers={"Content-Language": lang})

    return await cached_page(request, build)


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
        return _unknown_version(request, str(exc.args[0]) if exc.args else "")
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
