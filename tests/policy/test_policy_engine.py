"""The decision engine: each rule of purpose binding, table-driven, on the policy in force."""

from __future__ import annotations

import pytest

from schutz.policy.engine import CLEAR, ERASED, Engine, SubjectState
from schutz.policy.schema import LegalBasis

EMAIL = "user.contact.email"
NAME = "user.name"
CITY = "user.contact.address.city"

ERASED_STATE = SubjectState.of(erased=True)
RESTRICTED = SubjectState.of(restricted=True)
OBJECTED_DM = SubjectState.of(objected=["direct_marketing"])
CONSENTED_NL = SubjectState.of(consented=["newsletter"])

# (role, purpose, category, state, allowed, rule)
RULES = [
    ("fulfilment", "order_processing", CITY, CLEAR, True, "allowed"),
    ("dpo", "order_processing", NAME, ERASED_STATE, False, "erased"),
    ("dpo", "legal_obligation", NAME, ERASED_STATE, False, "erased"),
    ("shop", "order_processing", NAME, RESTRICTED, False, "restricted"),
    ("dpo", "legal_obligation", NAME, RESTRICTED, True, "allowed"),
    ("dpo", "legal_claims", NAME, RESTRICTED, True, "allowed"),
    ("dpo", "connected_purpose", NAME, RESTRICTED, False, "restricted"),
    ("marketing", "direct_marketing", EMAIL, CLEAR, True, "allowed"),
    ("marketing", "direct_marketing", EMAIL, OBJECTED_DM, False, "objected"),
    (
        "marketing",
        "direct_marketing",
        EMAIL,
        SubjectState.of(consented=["direct_marketing"], objected=["direct_marketing"]),
        False,
        "objected",
    ),
    (
        "marketing",
        "market_research",
        EMAIL,
        SubjectState.of(objected=["market_research"]),
        False,
        "objected",
    ),
    (
        "shop",
        "order_processing",
        NAME,
        SubjectState.of(objected=["order_processing"]),
        True,
        "allowed",
    ),
    ("marketing", "newsletter", EMAIL, CLEAR, False, "no_consent"),
    ("marketing", "newsletter", EMAIL, CONSENTED_NL, True, "allowed"),
    ("marketing", "newsletter", NAME, CONSENTED_NL, False, "category"),
    (
        "marketing",
        "newsletter",
        EMAIL,
        SubjectState.of(consented=["newsletter"], objected=["newsletter"]),
        False,
        "objected",
    ),
    ("marketing", "order_processing", NAME, CLEAR, False, "role"),
    ("fulfilment", "billing", NAME, CLEAR, False, "role"),
    ("marketing", "legal_obligation", NAME, CLEAR, False, "role"),
    ("support", "misuse_prevention", "user.device.ip_address", CLEAR, False, "role"),
    ("shop", "sell_data", NAME, CLEAR, False, "unknown"),
    ("janitor", "order_processing", NAME, CLEAR, False, "unknown"),
    ("shop", "order_processing", "user.biometric.fingerprint", CLEAR, False, "unknown"),
]


@pytest.mark.parametrize(("role", "purpose", "category", "state", "allowed", "rule"), RULES)
def test_decide_applies_the_rules(compiled: Engine, role, purpose, category, state, allowed, rule):
    decision = compiled.decide(role, purpose, category, state)
    assert (decision.allowed, decision.rule) == (allowed, rule), decision.reason
    assert (decision.legal_basis is not None) == allowed


def test_objection_to_direct_marketing_is_absolute(compiled: Engine):
    assert (
        "Art. 21(3)" in compiled.decide("marketing", "direct_marketing", EMAIL, OBJECTED_DM).reason
    )


@pytest.mark.parametrize("purpose", ["connected_purpose", "legal_obligation", "legal_claims"])
def test_exception_purposes_need_justification(compiled: Engine, purpose):
    decision = compiled.decide("dpo", purpose, NAME)
    assert decision.allowed
    assert decision.needs_justification


def test_ordinary_purposes_need_no_justification(compiled: Engine):
    decision = compiled.decide("shop", "order_processing", NAME)
    assert decision.legal_basis is LegalBasis.CONTRACT
    assert not decision.needs_justification


def test_decisions_are_shared_not_built_per_call(compiled: Engine):
    first = compiled.decide("shop", "order_processing", NAME, SubjectState())
    assert compiled.decide("shop", "order_processing", NAME, SubjectState()) is first


def test_subject_state_packs_what_matters_for_one_purpose():
    state = SubjectState.of(consented=["newsletter"], objected=["direct_marketing"], erased=True)
    assert state.bits("newsletter") == ERASED | 2
    assert state.bits("direct_marketing") == ERASED | 1
    assert state.bits("billing") == ERASED
    assert state == SubjectState.of(
        consented=["newsletter"], objected=["direct_marketing"], erased=True
    )


def test_check_answers_for_the_purpose_as_a_whole(compiled: Engine):
    assert compiled.check("marketing", "newsletter", CONSENTED_NL).allowed
    assert compiled.check("marketing", "newsletter").rule == "no_consent"
    assert compiled.check("marketing", "billing").rule == "role"
    assert compiled.check("shop", "resale").rule == "unknown"


def test_readable_fields_follow_role_and_purpose(compiled: Engine):
    assert compiled.readable_fields("marketing", "newsletter", CONSENTED_NL) == {"email"}
    assert compiled.readable_fields("marketing", "newsletter") == frozenset()
    assert "postal_address.city" in compiled.readable_fields("fulfilment", "order_processing")
    assert compiled.readable_fields("shop", "order_processing", ERASED_STATE) == frozenset()


def test_allowed_categories_of_a_restricted_subject_are_the_exception_ones(compiled: Engine):
    assert compiled.allowed_categories("shop", "billing", RESTRICTED) == frozenset()
    assert NAME in compiled.allowed_categories("dpo", "legal_obligation", RESTRICTED)


@pytest.mark.parametrize(
    ("source", "purposes", "fields"),
    [
        ("newsletter", ["newsletter"], {"email"}),
        ("newsletter", ["direct_marketing"], set()),
        ("survey", ["market_research"], {"email", "name"}),
        (
            "order",
            ["order_processing"],
            {
                "email",
                "name",
                "phone",
                "postal_address.street",
                "postal_address.postal_code",
                "postal_address.city",
                "postal_address.country",
            },
        ),
        ("telepathy", ["order_processing"], set()),
    ],
)
def test_intake_fields_are_those_the_source_and_purposes_allow(
    compiled: Engine, source, purposes, fields
):
    assert compiled.intake_fields(source, purposes) == fields


@pytest.mark.parametrize(
    ("recipient", "purpose", "allowed"),
    [
        ("freight_carrier", "order_processing", True),
        ("payment_service_provider", "billing", True),
        ("bank", "billing", True),
        ("freight_carrier", "direct_marketing", False),
        ("data_broker", "order_processing", False),
    ],
)
def test_only_listed_processors_receive_data(compiled: Engine, recipient, purpose, allowed):
    assert compiled.may_disclose(recipient, purpose).allowed is allowed


def test_both_bundled_versions_compile(bundled):
    for policy in bundled:
        engine = bundled.engine(policy.version)
        assert engine is bundled.engine(policy.version)
        assert engine.decide("marketing", "newsletter", EMAIL, CONSENTED_NL).allowed
