"""Comparing policy versions: the 2013 to 2026 revision shows what changed, field by field."""

from __future__ import annotations

from schutz.policy.diff import diff_policies, format_diff


def test_diff_shows_analytics_moving_in_house(bundled):
    diff = diff_policies(bundled.get("2013-06"), bundled.get("2026-11"))
    analytics = diff.find("analytics", "analytics")
    assert analytics is not None
    assert analytics.kind == "changed"
    fields = {f.path: (f.old, f.new) for f in analytics.fields}
    assert fields["first_party"] == (False, True)
    assert fields["leaves_site"] == (True, False)
    assert fields["provider.name"] == ("Google Inc.", "Gigaset Communications GmbH")
    opt_out = next(f for f in analytics.fields if f.path == "opt_out")
    assert set(opt_out.added_items) == {"opt_out_cookie", "do_not_track", "global_privacy_control"}


def test_diff_lists_cookies_embeds_and_retention(bundled):
    diff = diff_policies(bundled.get("2013-06"), bundled.get("2026-11"))
    cookies = {(c.key, c.kind) for c in diff.in_section("cookies")}
    assert ("__utma", "removed") in cookies
    assert ("schutz_vid", "added") in cookies
    embed = diff.find("embeds", "facebook")
    assert embed is not None
    assert ("two_click", False, True) in {(f.path, f.old, f.new) for f in embed.fields}
    billing = diff.find("purposes", "billing")
    assert billing is not None
    assert {(f.path, f.old, f.new) for f in billing.fields} >= {("retention.period", "P10Y", "P8Y")}


def test_same_version_has_no_changes(bundled):
    policy = bundled.latest
    diff = diff_policies(policy, policy)
    assert not diff
    assert format_diff(diff) == "2026-11 -> 2026-11: no changes"


def test_formatted_diff_shows_one_language(bundled):
    text = format_diff(diff_policies(bundled.get("2013-06"), bundled.get("2026-11")), "de")
    assert "~ analytics changed" in text
    assert "first_party: False -> True" in text
    assert ".de:" in text
    assert ".en:" not in text
