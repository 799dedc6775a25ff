"""The decision engine: a policy compiled into an immutable table that says who may do what.

This is the only place the purpose-binding rules live (clauses C2, C8, C9, C11, C18).
Everything is worked out once, when the policy is compiled; `decide` is then two dictionary
look-ups and returns a shared `Decision`, so it costs a few hundred nanoseconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import product

from schutz.policy.schema import LegalBasis, Policy, Purpose, Role

# The four facts about a subject that matter to one purpose, packed into a small int.
OBJECTED = 1
CONSENTED = 2
RESTRICTED = 4
ERASED = 8
_ALL_STATES = range(16)
_ROLES = frozenset(role.value for role in Role)


@dataclass(frozen=True, slots=True)
class SubjectState:
    """What a data subject has said and what has been done to their data, as of now.

    Build one per subject and request (from the consent ledger and the subject's markers);
    `decide` reads only `base` and `purpose_bits`, which are worked out here once.
    """

    consented: frozenset[str] = frozenset()
    objected: frozenset[str] = frozenset()
    restricted: bool = False
    erased: bool = False
    base: int = field(init=False, compare=False, repr=False)
    purpose_bits: dict[str, int] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        base = (ERASED if self.erased else 0) | (RESTRICTED if self.restricted else 0)
        bits = dict.fromkeys(self.consented | self.objected, base)
        for purpose in self.consented:
            bits[purpose] |= CONSENTED
        for purpose in self.objected:
            bits[purpose] |= OBJECTED
        object.__setattr__(self, "base", base)
        object.__setattr__(self, "purpose_bits", bits)

    @classmethod
    def of(
        cls,
        *,
        consented: Iterable[str] = (),
        objected: Iterable[str] = (),
        restricted: bool = False,
        erased: bool = False,
    ) -> SubjectState:
        return cls(frozenset(consented), frozenset(objected), restricted, erased)

    def bits(self, purpose: str) -> int:
        """The packed state that matters for `purpose` (see the constants above)."""
        return self.purpose_bits.get(purpose, self.base)


CLEAR = SubjectState()
"""A subject who has neither consented nor objected to anything, unrestricted."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to "may this role use this category for this purpose, for this subject?".

    `rule` is a stable code (`allowed`, `erased`, `restricted`, `role`, `category`,
    `objected`, `no_consent`, `unknown`); `reason` says the same in a sentence that is safe to
    show a client and to audit: it never holds personal data.
    """

    allowed: bool
    rule: str
    reason: str
    legal_basis: LegalBasis | None = None
    needs_justification: bool = False


def _deny(rule: str, reason: str) -> Decision:
    return Decision(False, rule, reason)


def _judge(role: str, key: str, purpose: Purpose, category: str | None, bits: int) -> Decision:
    """Apply the rules, most absolute first, for one role, purpose, category and state."""
    if bits & ERASED:
        return _deny("erased", "the subject's data has been erased (Art. 17 GDPR)")
    if bits & RESTRICTED and not purpose.survives_restriction:
        return _deny(
            "restricted",
            f"processing is restricted (Art. 18 GDPR); {key!r} is not an exception that may go on",
        )
    if role not in purpose.roles:
        return _deny("role", f"role {role!r} may not process data for {key!r}")
    if category is not None and category not in purpose.categories:
        return _deny("category", f"purpose {key!r} does not cover {category!r}")
    if bits & OBJECTED and purpose.objectable:
        if purpose.direct_marketing:
            return _deny(
                "objected",
                f"the subject objected to {key!r}; for direct marketing that is absolute"
                " (Art. 21(3) GDPR)",
            )
        return _deny("objected", f"the subject objected to {key!r} (Art. 21 GDPR)")
    if purpose.requires_consent and not bits & CONSENTED:
        return _deny("no_consent", f"{key!r} needs the subject's consent (Art. 6(1)(a) GDPR)")
    return Decision(
        True,
        "allowed",
        f"{key!r} allowed on {purpose.legal_basis.article}"
        + ("; a written justification is required (C9)" if purpose.exception else ""),
        purpose.legal_basis,
        purpose.exception,
    )


class Engine:
    """A compiled policy: every decision precomputed, shared and immutable."""

    __slots__ = ("_by_purpose", "_categories", "_fields", "_sources", "_table", "policy")

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        interned: dict[Decision, Decision] = {}
        table: dict[tuple[str, str, str, int], Decision] = {}
        by_purpose: dict[tuple[str, str, int], Decision] = {}
        categories: dict[tuple[str, str, int], frozenset[str]] = {}
        known = set(policy.categories)
        for purpose in policy.purposes.values():
            known.update(purpose.categories)
        for role, (key, purpose), bits in product(Role, policy.purposes.items(), _ALL_STATES):
            overall = _judge(role.value, key, purpose, None, bits)
            by_purpose[role.value, key, bits] = interned.setdefault(overall, overall)
            allowed: set[str] = set()
            for category in known:
                decision = _judge(role.value, key, purpose, category, bits)
                decision = interned.setdefault(decision, decision)
                table[role.value, key, category, bits] = decision
                if decision.allowed:
                    allowed.add(category)
            categories[role.value, key, bits] = frozenset(allowed)
        self._table = table
        self._by_purpose = by_purpose
        self._categories = categories
        self._fields = dict(policy.field_categories)
        self._sources = {name.value: spec for name, spec in policy.sources.items()}

    @property
    def table(self) -> dict[tuple[str, str, str, int], Decision]:
        """Every precomputed answer, keyed by (role, purpose, category, state bits)."""
        return dict(self._table)

    def decide(
        self, role: str, purpose: str, category: str, state: SubjectState = CLEAR
    ) -> Decision:
        """May `role` use `category` of this subject's data for `purpose`?"""
        decision = self._table.get(
            (role, purpose, category, state.purpose_bits.get(purpose, state.base))
        )
        if decision is None:
            return self._unknown(role, purpose, category)
        return decision

    def check(self, role: str, purpose: str, state: SubjectState = CLEAR) -> Decision:
        """May `role` use this subject's data for `purpose` at all (any category)?"""
        decision = self._by_purpose.get((role, purpose, state.bits(purpose)))
        if decision is None:
            return self._unknown(role, purpose, None)
        return decision

    def allowed_categories(
        self, role: str, purpose: str, state: SubjectState = CLEAR
    ) -> frozenset[str]:
        """The categories `role` may use for `purpose`; empty when none or when unknown."""
        return self._categories.get((role, purpose, state.bits(purpose)), frozenset())

    def readable_fields(
        self, role: str, purpose: str, state: SubjectState = CLEAR
    ) -> frozenset[str]:
        """API fields (`email`, `postal_address.city`, ...) a read for `purpose` may return."""
        allowed = self.allowed_categories(role, purpose, state)
        return frozenset(f for f, c in self._fields.items() if c in allowed)

    def intake_fields(self, source: str, purposes: Iterable[str]) -> frozenset[str]:
        """Fields `source` may bring for `purposes` (clause C1); others must be refused.

        A purpose the source does not serve contributes nothing, so asking for one makes
        every field it alone would need a refused field.
        """
        spec = self._sources.get(source)
        if spec is None:
            return frozenset()
        wanted: set[str] = set()
        for key in purposes:
            if key in spec.purposes and key in self.policy.purposes:
                wanted.update(self.policy.purposes[key].categories)
        return frozenset(f for f in spec.fields if self._fields.get(f) in wanted)

    def may_disclose(self, recipient: str, purpose: str) -> Decision:
        """May data go to `recipient` for `purpose`? Only listed processors, clause C2."""
        spec = self.policy.recipients.get(recipient)
        if spec is None:
            return _deny("recipient", f"{recipient!r} is not a processor named in the policy (C2)")
        if purpose not in spec.purposes:
            return _deny("recipient", f"{recipient!r} receives no data for {purpose!r} (C2)")
        basis = self.policy.purposes[purpose].legal_basis
        return Decision(True, "allowed", f"disclosure to {recipient!r} for {purpose!r}", basis)

    def _unknown(self, role: str, purpose: str, category: str | None) -> Decision:
        if role not in _ROLES:
            return _deny("unknown", f"unknown role {role!r}")
        if purpose not in self.policy.purposes:
            return _deny(
                "unknown",
                f"{purpose!r} is not a purpose of this policy; data is used only for the"
                " purposes communicated (C9)",
            )
        return _deny("unknown", f"category {category!r} is not used by this policy")


def compile_policy(policy: Policy) -> Engine:
    """Compile `policy` into its decision engine (a few milliseconds; keep the result)."""
    return Engine(policy)
