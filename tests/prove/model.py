"""The reference model: what the bundled policy (2026-11) allows, in plain Python.

Nothing here imports Schutz. The facts below are copied by hand from
`src/schutz/policy/data/gigaset-2026-11.yaml` and docs/security.md, so the model is a second,
independent reading of the policy: when the application and the model disagree, one of them
is wrong, and the machine in `machine.py` says which step made them part.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

ROLES = ("shop", "support", "fulfilment", "marketing", "dpo", "admin")
FIELDS = (
    "email",
    "name",
    "phone",
    "postal_address.street",
    "postal_address.postal_code",
    "postal_address.city",
    "postal_address.country",
)
ADDRESS = tuple(f for f in FIELDS if f.startswith("postal_address."))
ALL = frozenset(FIELDS)
NO_PHONE = ALL - {"phone"}


@dataclass(frozen=True)
class Source:
    asserted_by: frozenset[str]
    purposes: frozenset[str]
    fields: frozenset[str]


@dataclass(frozen=True)
class Purpose:
    fields: frozenset[str]  # the API fields whose category the purpose covers
    roles: frozenset[str]
    objectable: bool = False
    direct_marketing: bool = False
    requires_consent: bool = False
    exception: bool = False  # C9: needs a written justification, binds no collection purpose
    survives_restriction: bool = False


def _s(*names: str) -> frozenset[str]:
    return frozenset(names)


SOURCES: dict[str, Source] = {
    "registration": Source(
        _s("shop", "admin"),
        _s("information_access", "direct_marketing", "service_improvement"),
        ALL,
    ),
    "order": Source(_s("shop", "admin"), _s("order_processing", "billing"), ALL),
    "survey": Source(_s("marketing", "admin"), _s("market_research"), _s("email", "name")),
    "contact_form": Source(_s("form:contact", "support", "admin"), _s("answer_queries"), ALL),
    "newsletter": Source(
        _s("form:newsletter", "shop", "marketing", "admin"), _s("newsletter"), _s("email")
    ),
}

PURPOSES: dict[str, Purpose] = {
    "answer_queries": Purpose(ALL, _s("support", "dpo", "admin")),
    "order_processing": Purpose(ALL, _s("shop", "fulfilment", "support", "dpo", "admin")),
    "billing": Purpose(NO_PHONE, _s("shop", "dpo", "admin")),
    "information_access": Purpose(ALL, _s("shop", "support", "dpo", "admin")),
    "service_improvement": Purpose(frozenset(), _s("support", "marketing", "dpo"), objectable=True),
    "direct_marketing": Purpose(
        NO_PHONE, _s("marketing", "dpo"), objectable=True, direct_marketing=True
    ),
    "market_research": Purpose(_s("email", "name"), _s("marketing", "dpo"), objectable=True),
    "newsletter": Purpose(
        _s("email"),
        _s("marketing", "dpo"),
        objectable=True,
        direct_marketing=True,
        requires_consent=True,
    ),
    "web_analytics": Purpose(frozenset(), _s("marketing", "dpo", "admin"), objectable=True),
    "connected_purpose": Purpose(ALL, _s("dpo", "admin"), exception=True),
    "legal_obligation": Purpose(
        NO_PHONE, _s("dpo", "admin"), exception=True, survives_restriction=True
    ),
    "legal_claims": Purpose(ALL, _s("dpo"), exception=True, survives_restriction=True),
    "misuse_prevention": Purpose(
        _s("email"), _s("admin", "dpo"), exception=True, survives_restriction=True
    ),
}
DIRECT_MARKETING = frozenset(k for k, p in PURPOSES.items() if p.direct_marketing)
DOUBLE_OPT_IN = "newsletter"
# Purposes whose retention runs "until withdrawal" (`retention.start: withdrawal`, no period).
UNTIL_WITHDRAWAL = frozenset({"newsletter"})
# Roles that may record consent events over the API, submit requests, read orders.
CONSENT_RECORDERS = _s("shop", "support", "marketing", "dpo", "admin")
REQUEST_SUBMITTERS = _s("shop", "support", "dpo", "admin")


@dataclass
class Held:
    value: str
    purposes: set[str]


@dataclass
class Person:
    """One data subject as the policy says Schutz must hold them."""

    email: str
    fields: dict[str, Held] = field(default_factory=dict)
    consent: dict[str, str] = field(default_factory=dict)  # granted / confirmed / withdrawn
    objections: set[str] = field(default_factory=set)
    restricted: bool = False
    erased: bool = False

    @property
    def known(self) -> bool:
        return bool(self.fields)

    def consented(self) -> set[str]:
        return {
            p
            for p, s in self.consent.items()
            if s == "confirmed" or (s == "granted" and p != DOUBLE_OPT_IN)
        }

    def state_of(self, purpose: str) -> str | None:
        if purpose in self.objections:
            return "objected"
        return self.consent.get(purpose)


@dataclass(frozen=True)
class Outcome:
    """What the policy says a call must do: `ok`, `denied` (403), `invalid` (422), `gone`."""

    kind: str
    detail: str = ""


OK = Outcome("ok")


class Model:
    """Every person the machine has met, keyed by e-mail address."""

    def __init__(self) -> None:
        self.people: dict[str, Person] = {}

    def person(self, email: str) -> Person:
        return self.people.setdefault(email, Person(email))

    def snapshot(self) -> Model:
        return copy.deepcopy(self)

    # -- intake (C1, invariant 1) -------------------------------------------------------
    def intake(
        self, asserted_by: str, source: str, purposes: list[str], data: dict[str, str]
    ) -> Outcome:
        spec = SOURCES[source]
        if asserted_by not in spec.asserted_by:
            return Outcome("denied", "source_authority")
        wanted = set(purposes)
        if not wanted or not wanted <= spec.purposes:
            return Outcome("invalid", "purposes")
        allowed = {f for f in spec.fields if any(f in PURPOSES[p].fields for p in wanted)}
        if not set(data) <= allowed:
            return Outcome("invalid", "fields")
        person = self.person(data["email"])
        for name, value in data.items():
            held = person.fields.get(name)
            if held is None:
                person.fields[name] = Held(value, set(wanted))
            elif held.value == value:
                held.purposes |= wanted  # the same value, given again, for these purposes
            # another value: the held one stays, with its purposes (no overwrite)
        return OK

    # -- reads (C9, invariant 2) --------------------------------------------------------
    def read(self, role: str, purpose: str, email: str) -> tuple[Outcome, dict[str, str]]:
        person = self.people.get(email)
        if person is None or person.erased or not person.known:
            return Outcome("gone"), {}
        spec = PURPOSES[purpose]
        if person.restricted and not spec.survives_restriction:
            return Outcome("denied", "restricted"), {}
        if role not in spec.roles:
            return Outcome("denied", "role"), {}
        if purpose in person.objections and spec.objectable:
            return Outcome("denied", "objected"), {}
        consented = person.consented()
        if spec.requires_consent and purpose not in consented:
            return Outcome("denied", "no_consent"), {}
        bound = spec.exception or purpose in consented
        out = {
            name: held.value
            for name, held in person.fields.items()
            if name in spec.fields and (bound or purpose in held.purposes)
        }
        if not out:
            return Outcome("denied", "purpose_binding"), {}
        return OK, out

    # -- the consent ledger (invariant 2) -----------------------------------------------
    def consent_event(
        self, role: str, email: str, purpose: str, action: str, evidence: bool
    ) -> Outcome:
        """A consent event recorded through `POST /api/v1/consents` by an API key."""
        person = self.people.get(email)
        if role not in CONSENT_RECORDERS:
            return Outcome("denied", "role")
        if person is None or person.erased or not person.known:
            return Outcome("gone")
        if action == "grant" and person.state_of(purpose) in ("objected", "withdrawn"):
            lifted_by_dpo = role == "dpo" and evidence
            if purpose != DOUBLE_OPT_IN and not lifted_by_dpo:
                return Outcome("denied", "lift_authority")
        self.apply(person, purpose, action)
        return OK

    @staticmethod
    def apply(person: Person, purpose: str, action: str) -> None:
        """Fold one accepted event into the person's state (as docs/security.md says)."""
        current = person.consent.get(purpose)
        if action == "grant":
            if purpose == DOUBLE_OPT_IN:
                keep = purpose not in person.objections and current == "confirmed"
            else:
                person.objections.discard(purpose)
                keep = current == "confirmed"
            person.consent[purpose] = "confirmed" if keep else "granted"
        elif action == "confirm":
            person.objections.discard(purpose)
            person.consent[purpose] = "confirmed"
        elif action == "withdraw":
            person.consent[purpose] = "withdrawn"
        elif action == "object":
            covered = DIRECT_MARKETING if purpose in DIRECT_MARKETING else {purpose}
            person.objections |= covered | {purpose}
        else:  # pragma: no cover - the machine sends only these
            raise ValueError(action)

    def can_confirm(self, email: str) -> bool:
        person = self.people.get(email)
        return (
            person is not None
            and not person.erased
            and person.consent.get(DOUBLE_OPT_IN) == "granted"
        )

    # -- audiences ----------------------------------------------------------------------
    def audience_may_hold(self, purpose: str, email: str) -> bool:
        """May `email` be in the marketing role's audience for `purpose` now?"""
        outcome, fields = self.read("marketing", purpose, email)
        return outcome.kind == "ok" and fields.get("email") == email

    # -- retention (`schutz retention run`) ---------------------------------------------
    def retention_run(self) -> list[str]:
        """The periods that end within the machine's time: those that run "until
        withdrawal" end once the person withdrew or objected. A field held for nothing else
        goes; a person left with nothing is erased. Restricted people are left alone.
        Returns the addresses erased."""
        erased = []
        for person in self.people.values():
            if person.erased or person.restricted or not person.known:
                continue
            ended = {p for p in UNTIL_WITHDRAWAL if person.state_of(p) in ("withdrawn", "objected")}
            for name, held in list(person.fields.items()):
                held.purposes -= ended
                if not held.purposes:
                    del person.fields[name]
            if not person.fields:
                self.erase(person.email)
                erased.append(person.email)
        return erased

    # -- erasure and restore (invariants 4 and 5) ----------------------------------------
    def erase(self, email: str) -> None:
        person = self.people[email]
        person.erased = True
        person.fields.clear()

    def restored(self, snapshot: Model) -> Model:
        """The model after restoring `snapshot`: its data, plus every later erasure,
        objection and withdrawal still in force now."""
        after = copy.deepcopy(snapshot)
        for email, live in self.people.items():
            was = after.person(email)
            if live.erased:
                was.erased = True
                was.fields.clear()
            was.objections |= live.objections
            for purpose, state in live.consent.items():
                if state == "withdrawn" and was.consent.get(purpose) in ("granted", "confirmed"):
                    was.consent[purpose] = "withdrawn"
        return after
