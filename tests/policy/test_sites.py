"""Embedding sites: origins are scheme, host and port, exactly; `SCHUTZ_SITES` adds to the
policy's list; anything vaguer is refused with a line that names it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from schutz.config import BUNDLED_POLICY_DIR
from schutz.errors import InvalidInput
from schutz.policy.loader import load_policy_set
from schutz.policy.sites import Site, declared_sites, normalise_origin, parse_sites, site_of_origin


@pytest.mark.parametrize(
    ("given", "origin"),
    [
        ("https://Shop.Example.com", "https://shop.example.com"),
        ("https://shop.example.com:443/", "https://shop.example.com"),
        ("http://localhost:8001", "http://localhost:8001"),
    ],
)
def test_an_origin_is_normalised(given: str, origin: str) -> None:
    assert normalise_origin(given) == origin


@pytest.mark.parametrize(
    "given",
    ["shop.example.com", "https://shop.example.com/shop", "https://*.example.com",
     "ftp://shop.example.com", "https://shop.example.com?x=1", "https://user@shop.example"],
)  # fmt: skip
def test_anything_vaguer_than_an_origin_is_refused(given: str) -> None:
    with pytest.raises(ValueError, match=r"origin|wildcard"):
        normalise_origin(given)


def test_schutz_sites_adds_to_the_policys_sites() -> None:
    policy_sites = {"shop": Site(origins=("https://shop.example",))}

    sites = declared_sites(policy_sites, "shop=https://www.shop.example;blog=https://blog.example")

    assert sites["shop"].origins == ("https://shop.example", "https://www.shop.example")
    assert site_of_origin(sites, "https://blog.example/") == {"blog"}
    assert site_of_origin(sites, "https://evil.example") == set()


def test_a_malformed_schutz_sites_is_a_clear_error() -> None:
    with pytest.raises(InvalidInput, match="SCHUTZ_SITES"):
        parse_sites("https://shop.example")
    with pytest.raises(ValidationError):
        parse_sites("shop=https://shop.example/path")


def test_the_bundled_policies_declare_no_site() -> None:
    assert all(not p.sites for p in load_policy_set(BUNDLED_POLICY_DIR).versions)
