"""The operator's vocabulary in a policy: what the loader accepts, and what it refuses with
a clear `file:line: rule` (custom fields, identities, processors, cookie categories and the
recipients setting)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from schutz.config import BUNDLED_POLICY_DIR
from schutz.cookies.registry import choice_categories, purpose_for, wording
from schutz.policy.engine import Engine
from schutz.policy.loader import PolicyError, load_policy_set, parse_policy
from schutz.policy.ropa import records_of_processing
from vocabulary_policy import vocabulary_data, vocabulary_policy, vocabulary_text


def test_example_fragment_loads_and_names_its_identities() -> None:
    policy = vocabulary_policy()

    assert policy.identities == ("customer_number",)
    assert policy.field_categories["loyalty_tier"] == "user.behavior"
    assert policy.field_label("customer_number", "de") == "Kundennummer"
    assert policy.processors["mail_service"].contract == "AVV 2026-014 of 3 March 2026"


def test_custom_fields_go_through_the_engine_like_built_in_ones() -> None:
    engine = Engine(vocabulary_policy())

    assert "loyalty_tier" in engine.intake_fields("order", ["order_processing"])
    assert "customer_number" in engine.readable_fields("shop", "order_processing")
    # C1 still holds: the survey source does not bring them.
    assert "customer_number" not in engine.intake_fields("survey", ["market_research"])


def test_bundled_gigaset_policies_keep_recipients_for_orders_and_billing_only() -> None:
    for policy in load_policy_set(BUNDLED_POLICY_DIR):
        assert policy.recipients_only_for == ("order_processing", "billing")


def _error(**override: Any) -> str:
    with pytest.raises(PolicyError) as caught:
        vocabulary_policy(**override)
    return caught.value.rule


def _custom(**fields: Any) -> dict[str, Any]:
    data = vocabulary_data()["custom_fields"]
    return {**data, **fields}


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            {
                "custom_fields": _custom(
                    email={"category": "user.contact.email", "label": {"en": "E", "de": "E"}}
                )
            },
            "custom field 'email' clashes with the built-in field 'email'",
        ),
        (
            {
                "custom_fields": _custom(
                    shoe_size={"category": "user.shoe.size", "label": {"en": "S", "de": "S"}}
                )
            },
            "unknown data category 'user.shoe.size': not in the Fides taxonomy",
        ),
        (
            {
                "custom_fields": _custom(
                    shoe_size={"category": "user.demographic", "label": {"en": "S", "de": "S"}}
                )
            },
            "category 'user.demographic' is not declared under 'categories'",
        ),
        (
            {
                "custom_fields": _custom(
                    code={
                        "category": "user.unique_id",
                        "pattern": "([",
                        "label": {"en": "C", "de": "C"},
                    }
                )
            },
            "not a regular expression",
        ),
        (
            {
                "cookie_categories": {
                    **vocabulary_data()["cookie_categories"],
                    "analytics": {
                        "name": {"en": "A", "de": "A"},
                        "description": {"en": "A", "de": "A"},
                    },
                }
            },
            "cookie category 'analytics' clashes with the built-in one",
        ),
        (
            {"recipients_only_for": ["order_processing"]},
            "C2: data goes to third parties only for order_processing, not 'billing'",
        ),
        ({"recipients_only_for": ["shipping"]}, "unknown purpose 'shipping'"),
    ],
)
def test_policy_with_a_bad_vocabulary_fails_with_a_clear_rule(
    override: dict[str, Any], expected: str
) -> None:
    assert expected in _error(**override)


def test_a_cookie_of_an_undeclared_category_is_refused() -> None:
    data = vocabulary_data()
    cookies = [*data["cookies"][:-1], {**data["cookies"][-1], "category": "chat"}]

    assert "unknown cookie category 'chat'" in _error(cookies=cookies)


def test_a_source_naming_an_undeclared_field_is_refused() -> None:
    sources = vocabulary_data()["sources"]
    order = {**sources["order"], "fields": [*sources["order"]["fields"], "shoe_size"]}

    assert "unknown field 'shoe_size'" in _error(sources={**sources, "order": order})


def test_a_processor_must_use_declared_categories_of_its_purposes() -> None:
    processors = vocabulary_data()["processors"]
    mail = {**processors["mail_service"], "categories": ["user.device.ip_address"]}
    message = _error(processors={**processors, "mail_service": mail})

    assert "'user.device.ip_address' is not used by any of the processor's purposes" in message


def test_a_processor_must_name_its_contract() -> None:
    processors = vocabulary_data()["processors"]
    mail = {k: v for k, v in processors["mail_service"].items() if k != "contract"}

    assert "'contract' is required" in _error(processors={**processors, "mail_service": mail})


def test_without_the_setting_recipients_may_serve_any_purpose() -> None:
    data = vocabulary_data()
    del data["recipients_only_for"]
    carrier = {**data["recipients"]["freight_carrier"],
               "purposes": ["order_processing", "answer_queries"]}  # fmt: skip
    text = yaml.safe_dump(
        {**data, "recipients": {**data["recipients"], "freight_carrier": carrier}}
    )
    policy = parse_policy(text)

    assert policy.recipients_only_for is None
    assert "answer_queries" in policy.recipients["freight_carrier"].purposes


def test_error_names_the_line_of_the_offending_custom_field() -> None:
    text = vocabulary_text()
    with pytest.raises(PolicyError) as caught:
        parse_policy(text.replace("category: user.behavior\n", "category: user.nope\n"), "p.yaml")
    line = text.splitlines()[caught.value.line - 1]  # type: ignore[operator]
    assert "user.behavior" in line


def test_records_of_processing_list_processors_with_their_contract() -> None:
    records = {r.purpose: r for r in records_of_processing(vocabulary_policy(), "de")}

    assert any(
        "Example Mail GmbH" in r and "AVV 2026-014" in r for r in records["newsletter"].recipients
    )
    assert not any("Example Mail" in r for r in records["billing"].recipients)


def test_custom_cookie_category_is_offered_with_its_own_words() -> None:
    policy = vocabulary_policy()

    assert choice_categories(policy)[-1] == "support_chat"
    assert purpose_for(policy, "support_chat") == "answer_queries"
    categories = wording(policy, "de")["categories"]
    assert isinstance(categories, list)
    shown = {c["key"]: c for c in categories}
    assert shown["support_chat"]["name"] == "Support-Chat"
    assert shown["support_chat"]["cookies"] == ["chat_session"]
