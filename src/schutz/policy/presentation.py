"""The policy for people: one presentation, in the reader's language, for every channel.

The page (`/privacy`), the Markdown (`schutz policy render`) and the records of processing
(`schutz policy ropa`, `/staff/records`) all word the policy through `PolicyFormat`: every
fact comes from the policy file, every sentence is a gettext message (`schutz/locale`), so
German is German wherever the policy is read. Pure: no web framework, no database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from babel.core import Locale
from babel.dates import format_date
from babel.lists import format_list
from babel.units import format_unit

from schutz.i18n import N_, babel_locale, translations
from schutz.policy.schema import LegalBasis, Policy

BABEL_LOCALES = {"en": "en_GB", "de": "de_DE"}


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
        parts = self.duration_parts(value)
        return format_list(parts, locale=self.locale) if parts else value

    def duration_parts(self, value: str) -> list[str]:
        """The units of an ISO 8601 period in words (`P1Y6M`: `1 year`, `6 months`)."""
        match = _DURATION.fullmatch(value)
        if match is None:
            return []
        return [
            format_unit(int(amount), unit, length="long", locale=self.locale)
            for amount, unit in zip(match.groups(), _UNITS, strict=True)
            if amount and int(amount)
        ]

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
        keys = tuple(
            dict.fromkeys(
                policy.field_categories[f] for f in fields if f in policy.field_categories
            )
        )
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


def policy_format(lang: str) -> PolicyFormat:
    """The words of `lang` (English where the catalogue has none)."""
    return PolicyFormat(lang, translations(lang).gettext)
