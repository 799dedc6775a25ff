"""The policy's cookie list read as a registry: names, categories and lifetimes (C15, C17)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from schutz.consent.visitor import ShownRegistry
from schutz.policy.schema import Cookie, CookieCategory, CookieCategorySpec, Policy

ESSENTIAL = CookieCategory.ESSENTIAL.value
CONSENT_COOKIE = "schutz_consent"
VISITOR_COOKIE = "schutz_vid"
OPTOUT_COOKIE = "schutz_optout"

# The consent-ledger purpose a category's choice is recorded under, when the policy has it.
CATEGORY_PURPOSES = {"embeds": "social_embeds", "preferences": "preferences"}


@dataclass(frozen=True)
class Registry:
    """The declared cookies of one policy version."""

    version: str
    cookies: dict[str, Cookie]
    categories: tuple[str, ...]
    """Non-essential categories a visitor chooses about, in a stable order."""
    own: dict[str, CookieCategorySpec] = field(default_factory=dict)
    """The operator's own categories (`cookie_categories`), with their names."""

    def get(self, name: str) -> Cookie | None:
        return self.cookies.get(name)

    def is_essential(self, name: str) -> bool:
        cookie = self.cookies.get(name)
        return cookie is not None and cookie.category == ESSENTIAL

    def names_in(self, category: str) -> tuple[str, ...]:
        return tuple(n for n, c in self.cookies.items() if c.category == category)


def choice_categories(policy: Policy) -> tuple[str, ...]:
    """Non-essential categories the visitor decides on: built-in ones with cookies, `embeds`
    when the policy has two-click embeds (loading one needs consent, cookie or not), then
    every category of the operator's own (`cookie_categories`), in file order."""
    found = {c.category for c in policy.cookies if c.category != ESSENTIAL}
    if any(e.two_click for e in policy.embeds.values()):
        found.add(CookieCategory.EMBEDS.value)
    builtin = tuple(c.value for c in CookieCategory if c.value in found)
    return builtin + tuple(policy.cookie_categories)


_built: dict[int, tuple[Policy, Registry]] = {}


def registry_for(policy: Policy) -> Registry:
    """The registry of `policy`, built once per policy object (policies are immutable)."""
    found = _built.get(id(policy))
    if found is not None and found[0] is policy:
        return found[1]
    registry = Registry(
        version=policy.version,
        cookies={c.name: c for c in policy.cookies},
        categories=choice_categories(policy),
        own=dict(policy.cookie_categories),
    )
    _built[id(policy)] = (policy, registry)
    return registry


def purpose_for(policy: Policy, category: str) -> str | None:
    """The policy purpose a choice about `category` is consent to, or None if it names none.

    Analytics is the analytics section's purpose; otherwise the purpose a cookie of that
    category `serves`, or the conventional key in `CATEGORY_PURPOSES`.
    """
    if category == CookieCategory.ANALYTICS.value and policy.analytics is not None:
        return policy.analytics.purpose
    own = policy.cookie_categories.get(category)
    if own is not None and own.serves is not None:
        return own.serves
    for cookie in policy.cookies:
        if cookie.category == category and cookie.serves in policy.purposes:
            return cookie.serves
    key = CATEGORY_PURPOSES.get(category)
    return key if key in policy.purposes else None


# --- the registry as the embeddable banner reads it (issue 14) -------------------------------

# Our own words for the banner on an operator's site, in every language the policy has.
BANNER_TEXT: dict[str, dict[str, str]] = {
    "title": {
        "en": "Cookies and content from other sites",
        "de": "Cookies und Inhalte anderer Anbieter",
    },
    "intro": {
        "en": "This site sets the cookies it needs to work. With your consent it also counts "
        "visits and shows content from other providers, who then learn that you visited. "
        "You can change your choice at any time under “Privacy settings”.",
        "de": "Diese Website setzt die Cookies, die sie zum Funktionieren braucht. Mit Ihrer "
        "Einwilligung zählt sie außerdem Besuche und zeigt Inhalte anderer Anbieter, die dann "
        "von Ihrem Besuch erfahren. Sie können Ihre Wahl jederzeit unter "
        "„Datenschutz-Einstellungen“ ändern.",
    },
    "accept": {"en": "Accept all", "de": "Alle akzeptieren"},
    "reject": {"en": "Reject all", "de": "Alle ablehnen"},
    "customise": {"en": "Customise", "de": "Anpassen"},
    "save": {"en": "Save my choice", "de": "Auswahl speichern"},
    "essential": {"en": "Essential", "de": "Notwendig"},
    "essential_desc": {
        "en": "Always on: remembers your choice. No tracking.",
        "de": "Immer aktiv: merkt sich Ihre Auswahl. Kein Tracking.",
    },
    "analytics": {"en": "Analytics", "de": "Statistik"},
    "analytics_desc": {
        "en": "Counts visits, pages and campaigns; the IP address is shortened first.",
        "de": "Zählt Besuche, Seiten und Kampagnen; die IP-Adresse wird vorher gekürzt.",
    },
    "embeds": {"en": "Content from other sites", "de": "Inhalte anderer Websites"},
    "embeds_desc": {
        "en": "Loads posts and videos from the providers below; your browser then connects "
        "to them.",
        "de": "Lädt Beiträge und Videos der unten genannten Anbieter; Ihr Browser verbindet "
        "sich dann mit ihnen.",
    },
    "preferences": {"en": "Preferences", "de": "Einstellungen"},
    "preferences_desc": {
        "en": "Remembers settings such as the language you chose.",
        "de": "Merkt sich Einstellungen wie die gewählte Sprache.",
    },
    "gpc": {
        "en": "Your browser sends a Global Privacy Control signal, so analytics and content "
        "from other sites start switched off.",
        "de": "Ihr Browser sendet das Signal „Global Privacy Control“, deshalb sind Statistik "
        "und Inhalte anderer Websites zunächst ausgeschaltet.",
    },
    "policy": {"en": "Privacy policy", "de": "Datenschutzerklärung"},
    "settings": {"en": "Privacy settings", "de": "Datenschutz-Einstellungen"},
    "placeholder": {
        "en": "This content comes from {provider}. Nothing has been sent there yet.",
        "de": "Dieser Inhalt stammt von {provider}. Bisher wurde nichts dorthin gesendet.",
    },
    "load": {"en": "Load content from {provider}", "de": "Inhalt von {provider} laden"},
    "load_note": {
        "en": "Loading it records your consent for {provider} only.",
        "de": "Das Laden speichert Ihre Einwilligung nur für {provider}.",
    },
}
FIRST_PARTY_ANALYTICS = "schutz_analytics"
"""The service key of the operator's own (first-party) analytics."""


def services_of(policy: Policy, lang: str) -> list[dict[str, object]]:
    services: list[dict[str, object]] = []
    if policy.analytics is not None and policy.analytics.first_party:
        services.append(
            {
                "key": FIRST_PARTY_ANALYTICS,
                "category": CookieCategory.ANALYTICS.value,
                "name": policy.analytics.provider.name,
                "provider": policy.analytics.provider.name,
                "sends": policy.analytics.records.get(lang),
            }
        )
    for key, embed in policy.embeds.items():
        if embed.two_click:
            services.append(
                {
                    "key": key,
                    "category": CookieCategory.EMBEDS.value,
                    "name": embed.name.get(lang),
                    "provider": embed.provider.name,
                    "sends": embed.sends.get(lang),
                    "privacy_policy_url": embed.privacy_policy_url,
                }
            )
    return services


def wording(policy: Policy, lang: str) -> dict[str, object]:
    """Everything the banner shows in `lang`, as data: what a visitor's consent refers to."""
    lang = lang if lang in ("en", "de") else "en"
    categories = [
        {
            "key": key,
            "name": category_name(policy, key, lang),
            "description": category_description(policy, key, lang),
            "cookies": list(registry_for(policy).names_in(key)),
        }
        for key in registry_for(policy).categories
    ]
    return {
        "lang": lang,
        "categories": categories,
        "services": services_of(policy, lang),
        "text": {k: v[lang] for k, v in BANNER_TEXT.items()},
    }


def category_name(policy: Policy, key: str, lang: str) -> str:
    """A cookie category's name in `lang`: ours for a built-in one, the policy's otherwise."""
    own = policy.cookie_categories.get(key)
    return own.name.get(lang) if own is not None else BANNER_TEXT.get(key, {}).get(lang, key)


def category_description(policy: Policy, key: str, lang: str) -> str:
    own = policy.cookie_categories.get(key)
    if own is not None:
        return own.description.get(lang)
    return BANNER_TEXT.get(f"{key}_desc", {}).get(lang, "")


def canonical(document: object) -> str:
    """The one JSON spelling a hash is taken over (sorted keys, no spaces, UTF-8 kept)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def wording_digest(policy: Policy, lang: str) -> str:
    """SHA-256 (hex) of the canonical wording in `lang`: the hash the ledger keeps."""
    return hashlib.sha256(canonical(wording(policy, lang)).encode("utf-8")).hexdigest()


def registry_version(policy: Policy) -> str:
    """`<policy version>-<8 hex>`: changes whenever a category, service or word changes, so
    the banner comes back to visitors who chose under an older one."""
    both = canonical([wording(policy, lang) for lang in ("en", "de")])
    cookies = canonical([[c.name, c.category, c.duration] for c in policy.cookies])
    digest = hashlib.sha256(f"{both}\n{cookies}".encode()).hexdigest()[:8]
    return f"{policy.version}-{digest}"


def consent_cookie_max_age(policy: Policy) -> int:
    """The declared lifetime of `schutz_consent`, in seconds (one year if undeclared)."""
    cookie = registry_for(policy).get(CONSENT_COOKIE)
    age = cookie.max_age_seconds if cookie is not None else None
    return age if age is not None else 365 * 86400


def registry_document(policy: Policy, lang: str) -> dict[str, object]:
    """The registry as `GET /api/v1/sites/{site}/registry` serves it."""
    words = wording(policy, lang)
    return {
        "version": shown_registry(policy).version,
        "policy_version": policy.version,
        "wording_hash": wording_digest(policy, str(words["lang"])),
        "consent_cookie": {
            "name": CONSENT_COOKIE,
            "category": ESSENTIAL,
            "max_age": consent_cookie_max_age(policy),
        },
        **words,
    }


_shown: dict[int, tuple[Policy, ShownRegistry]] = {}


def shown_registry(policy: Policy) -> ShownRegistry:
    """The registry's facts the consent ledger checks a visitor's choice against (built once
    per policy object, like `registry_for`)."""
    found = _shown.get(id(policy))
    if found is not None and found[0] is policy:
        return found[1]
    shown = ShownRegistry(
        version=registry_version(policy),
        wording={lang: canonical(wording(policy, lang)) for lang in ("en", "de")},
        categories=frozenset(registry_for(policy).categories),
        service_category={str(s["key"]): str(s["category"]) for s in services_of(policy, "en")},
        purposes={c: purpose_for(policy, c) for c in registry_for(policy).categories},
    )
    _shown[id(policy)] = (policy, shown)
    return shown
