"""IP truncation keeps IPv4 /24 and IPv6 /48 and nothing else (C23)."""

import pytest

from schutz.analytics.ip import truncate_ip

CASES = [
    ("203.0.113.77", "203.0.113.0"),
    ("203.0.113.0", "203.0.113.0"),
    ("10.1.2.255", "10.1.2.0"),
    ("255.255.255.255", "255.255.255.0"),
    ("0.0.0.0", "0.0.0.0"),  # noqa: S104 - a test value, not a bind address.
    (" 192.0.2.9 ", "192.0.2.0"),
    ("2001:db8:abcd:12::1", "2001:db8:abcd::"),
    ("2001:0db8:abcd:ffff:ffff:ffff:ffff:ffff", "2001:db8:abcd::"),
    ("2001:db8::", "2001:db8::"),
    ("::1", "::"),
    ("fe80::1%eth0", "fe80::"),
    ("[2001:db8:1:2::3]", "2001:db8:1::"),
    ("::ffff:198.51.100.23", "198.51.100.0"),
    ("::FFFF:c633:6417", "198.51.100.0"),
    ("64:ff9b::198.51.100.23", "64:ff9b::"),
]


@pytest.mark.parametrize(("address", "expected"), CASES)
def test_truncated_address_keeps_only_the_network_prefix(address: str, expected: str) -> None:
    assert truncate_ip(address) == expected


@pytest.mark.parametrize(
    "garbage",
    [None, "", "   ", "not-an-ip", "203.0.113", "203.0.113.256", "1.2.3.4, 5.6.7.8", "::g"],
)
def test_anything_that_is_not_an_address_yields_none(garbage: str | None) -> None:
    assert truncate_ip(garbage) is None


def test_truncation_is_idempotent() -> None:
    for address, expected in CASES:
        assert truncate_ip(truncate_ip(address)) == expected
