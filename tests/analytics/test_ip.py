"""IP truncation keeps IPv4 /24 and IPv6 /48 and nothing else (C23)."""

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
    ("2002:c633:6463::1", "198.51.100.0"),  # 6to4: bits 16-48 are 198.51.100.99
    ("2002:c633:6463:1:2:3:4:5", "198.51.100.0"),
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


def _by_ipaddress(address: str) -> str | None:
    """The answer of the standard library alone, which the dotted-quad shortcut must match."""
    text = address.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


_OCTET = st.one_of(
    st.integers(0, 300).map(str),
    st.sampled_from(["00", "010", "0x1", "+1", "-1", "1_0", "²", "٤", " 1", "1 ", "", "a"]),
)


@given(st.lists(_OCTET, min_size=3, max_size=5).map(".".join))
def test_the_dotted_quad_shortcut_answers_as_the_standard_library_does(address: str) -> None:
    """IPv4 text is cut without `ipaddress` for speed; every odd spelling (leading zeros,
    signs, non-ASCII digits, spaces, octets past 255) must still be judged as before."""
    assert truncate_ip(address) == _by_ipaddress(address)
