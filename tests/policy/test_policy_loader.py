"""Loading policy files: the bundled versions, and one `file:line: rule` for each mistake."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from schutz.config import BUNDLED_POLICY_DIR
from schutz.errors import InvalidInput, NotFound
from schutz.policy.loader import (
    PolicyError,
    current_policy_set,
    load_policy,
    load_policy_set,
    parse_policy,
)
from schutz.policy.schema import CookieCategory, LegalBasis

TODAY = date(2026, 11, 25)
REVISED = BUNDLED_POLICY_DIR / "gigaset-2026-11.yaml"

ORIGINAL = REVISED.read_text(encoding="utf-8")


def test_bundled_versions_load_oldest_first(bundled):
    assert [p.version for p in bundled] == ["2013-06", "2026-11"]
    assert bundled.latest.version == "2026-11"
    assert bundled.get("2013-06").effective_date == date(2013, 6, 1)


@pytest.mark.parametrize(
    ("today", "version"),
    [(date(2013, 6, 1), "2013-06"), (date(2026, 10, 31), "2013-06"), (TODAY, "2026-11")],
)
def test_in_force_is_the_latest_effective_version(bundled, today, version):
    assert bundled.in_force(today).version == version


def test_nothing_is_in_force_before_the_first_version(bundled):
    with pytest.raises(NotFound):
        bundled.in_force(date(2000, 1, 1))


def test_unknown_version_is_not_found(bundled):
    with pytest.raises(NotFound):
        bundled.get("1999-01")


def test_2013_policy_keeps_the_seed_facts(bundled):
    policy = bundled.get("2013-06")
    controller = policy.controller
    assert controller.name == "Gigaset Communications GmbH"
    assert controller.address.lines() == ("Hansaallee 299", "40549 Düsseldorf", "Germany")
    assert controller.fax == "+49 (0)2871-9163022"
    assert [c.value for c in policy.objection_channels] == ["contact_form", "post", "fax"]
    assert set(policy.recipients) == {"freight_carrier", "payment_service_provider", "bank"}
    ga, session = policy.cookies
    assert (ga.category, ga.duration) == (CookieCategory.ANALYTICS, "P2Y")
    assert (session.name, session.is_session) == ("frontend", True)
    assert policy.embeds["facebook"].provider.address is not None
    assert policy.embeds["facebook"].provider.address.city == "Palo Alto"
    assert policy.embeds["twitter"].provider.name == "Twitter Inc."
    assert policy.analytics is not None
    assert policy.analytics.ip_truncation is not None
    assert policy.newsletter is not None
    assert policy.newsletter.fields == ("email",)
    assert policy.purposes["newsletter"].legal_basis is LegalBasis.CONSENT


def test_2026_policy_describes_what_schutz_does(bundled):
    policy = bundled.get("2026-11")
    assert {c.name for c in policy.cookies} == {
        "schutz_vid",
        "schutz_session",
        "schutz_login_csrf",
        "schutz_account",
        "schutz_consent",
        "schutz_optout",
    }
    assert policy.cookie("schutz_session").is_session
    assert policy.cookie("schutz_vid").max_age_seconds == 390 * 86400
    analytics = policy.analytics
    assert analytics is not None
    assert analytics.first_party
    assert not analytics.leaves_site
    assert analytics.honours_dnt
    assert analytics.honours_gpc
    assert (analytics.ip_truncation.ipv4_prefix, analytics.ip_truncation.ipv6_prefix) == (24, 48)
    assert all(embed.two_click for embed in policy.embeds.values())
    assert policy.rights.deadline == "P1M"
    assert policy.legal_holds["invoices"].period == "P8Y"


def _mutate(old: str, new: str) -> str:
    assert ORIGINAL.count(old) == 1, f"fixture text not unique: {old!r}"
    return ORIGINAL.replace(old, new)


def _line_of(text: str, marker: str) -> int:
    return text[: text.index(marker)].count("\n") + 1


# (case, text to replace, replacement, marker of the offending line, words in the rule)
BROKEN = [
    (
        "yaml_syntax",
        "controller:\n  name: Gigaset Communications GmbH\n",
        "controller:\n  name: Gigaset: Communications\n",
        "  name: Gigaset: Communications",
        "YAML syntax error",
    ),
    (
        "unknown_category",
        "categories: [user.behavior.purchase_history]",
        "categories: [user.behaviour.purchases]",
        "categories: [user.behaviour.purchases]",
        "unknown data category 'user.behaviour.purchases'",
    ),
    (
        "purpose_without_legal_basis",
        "    legal_basis: consent\n",
        "",
        "  newsletter:\n    name: {en: Newsletter, de: Newsletter}",
        "purposes.newsletter: every purpose needs a legal basis",
    ),
    (
        "selling_recipient",
        "  bank:\n    kind: processor",
        "  bank:\n    kind: sale",
        "    kind: sale",
        "C7",
    ),
    (
        "recipient_kind_other_than_processor",
        "  bank:\n    kind: processor",
        "  bank:\n    kind: partner",
        "    kind: partner",
        "only 'processor'",
    ),
    (
        "purpose_named_for_selling",
        "  market_research:\n    name: {en: Online surveys",
        "  data_sale:\n    name: {en: Online surveys",
        "  data_sale:",
        "C7",
    ),
    (
        "purpose_of_kind_sale",
        "  market_research:\n    name: {en: Online surveys",
        "  market_research:\n    kind: sale\n    name: {en: Online surveys",
        "    kind: sale",
        "C7",
    ),
    (
        "unknown_role",
        "roles: [shop, dpo, admin]",
        "roles: [shop, dpo, janitor]",
        "roles: [shop, dpo, janitor]",
        "purposes.billing.roles[2]",
    ),
    (
        "recipient_for_non_contract_purpose",
        "    purposes: [billing]\n    categories: [user.name, user.payment]",
        "    purposes: [direct_marketing]\n    categories: [user.name, user.payment]",
        "    purposes: [direct_marketing]",
        "C2",
    ),
    (
        "unknown_key",
        "  market_research:\n    name: {en: Online surveys",
        "  market_research:\n    colour: blue\n    name: {en: Online surveys",
        "    colour: blue",
        "unknown key 'colour'",
    ),
    (
        "duplicate_key",
        "  bank:\n    kind: processor",
        "  bank:\n    kind: processor\n    kind: processor",
        "processor\n    kind: processor",
        "appears twice",
    ),
    (
        "marketing_role_on_exception_purpose",
        "    roles: [admin, dpo]\n",
        "    roles: [admin, marketing]\n",
        "    roles: [admin, marketing]",
        "C9",
    ),
    (
        "source_field_no_purpose_needs",
        "    purposes: [market_research]\n    fields: [email, name]",
        "    purposes: [market_research]\n    fields: [email, name, phone]",
        "    fields: [email, name, phone]",
        "C1",
    ),
    (
        "source_without_write_authority",
        "    asserted_by: [marketing, admin]\n",
        "",
        "  survey:\n    name: {en: Online surveys",
        "sources.survey: 'asserted_by' is required",
    ),
    (
        "source_asserted_by_an_unknown_form",
        "    asserted_by: [marketing, admin]",
        "    asserted_by: [marketing, form:fax]",
        "    asserted_by: [marketing, form:fax]",
        "sources.survey.asserted_by[1]: unknown authority 'form:fax'",
    ),
    (
        "source_names_an_authority_twice",
        "    asserted_by: [marketing, admin]",
        "    asserted_by: [marketing, admin, marketing]",
        "    asserted_by: [marketing, admin, marketing]",
        "'marketing' is listed twice",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "marker", "rule"),
    [case[1:] for case in BROKEN],
    ids=[case[0] for case in BROKEN],
)
def test_broken_policy_names_file_line_and_rule(tmp_path: Path, old, new, marker, rule):
    text = _mutate(old, new)
    # A marker may start on the line before the offending one, to make it unique.
    expected = _line_of(text, marker) + (1 if marker.startswith("processor\n") else 0)
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(PolicyError) as caught:
        load_policy(path)

    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:{expected}: "), message
    assert rule in message
    assert caught.value.line == expected
    assert isinstance(caught.value, InvalidInput)


def test_a_policy_file_must_be_a_mapping():
    with pytest.raises(PolicyError, match=r"^p\.yaml:1: a policy file must be a mapping"):
        parse_policy("- one\n- two\n", "p.yaml")


def test_missing_file_is_a_policy_error(tmp_path: Path):
    with pytest.raises(PolicyError, match="no such policy file"):
        load_policy_set(tmp_path / "absent.yaml")


def test_directory_without_policies_is_a_policy_error(tmp_path: Path):
    with pytest.raises(PolicyError, match="no policy files"):
        load_policy_set(tmp_path)


def test_two_files_with_one_version_are_refused(tmp_path: Path):
    (tmp_path / "a.yaml").write_text(ORIGINAL, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(ORIGINAL, encoding="utf-8")
    with pytest.raises(PolicyError, match=r"b\.yaml:\d+: version '2026-11' is also in"):
        load_policy_set(tmp_path)


def test_a_single_file_is_a_policy_set(tmp_path: Path):
    policies = load_policy_set(REVISED)
    assert len(policies) == 1
    assert policies.paths["2026-11"] == REVISED


def test_the_workers_policy_set_is_kept_until_a_file_changes(tmp_path: Path) -> None:
    """The worker asks for the policy on every pass: parsed and compiled once, and read
    again as soon as a version file is edited or added."""
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "a.yaml").write_text(REVISED.read_text(encoding="utf-8"), encoding="utf-8")
    first = current_policy_set(folder)
    assert current_policy_set(folder) is first
    edited = (
        (folder / "a.yaml")
        .read_text(encoding="utf-8")
        .replace('version: "2026-11"', 'version: "2026-12"', 1)
    )
    edited += "# edited\n"  # a new size: a second write in the same clock tick keeps the time
    (folder / "a.yaml").write_text(edited, encoding="utf-8")
    changed = current_policy_set(folder)
    assert changed is not first
    assert [p.version for p in changed.versions] == ["2026-12"]
