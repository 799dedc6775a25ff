"""The operator's own sites that embed Schutz (`sites:` in the policy, or `SCHUTZ_SITES`).

A site is a key (`shop`) and the web origins its pages are served from
(`https://shop.example.com`). Only those origins may load the banner's registry, post a
visitor's choice or send page views across origins; anything else is refused (issue 14).
Pure: no web, no database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from schutz.errors import InvalidInput

SITE_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


def normalise_origin(value: str) -> str:
    """`https://Shop.Example.com:443/` as `https://shop.example.com`; ValueError otherwise.

    An origin is scheme, host and port (RFC 6454 §4); a path, query, user or fragment is
    refused rather than cut off, so a typo cannot widen what is allowed.
    """
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an origin like https://shop.example.com")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{value!r}: an origin has no path, query, user or fragment")
    if "*" in value:
        raise ValueError(f"{value!r}: wildcards are not allowed; list each origin")
    default = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port not in (None, default) else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


Origin = Annotated[str, AfterValidator(normalise_origin)]
SiteKey = Annotated[str, Field(pattern=SITE_KEY.pattern)]


class Site(BaseModel):
    """One embedding site: where its pages live."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    origins: tuple[Origin, ...] = Field(min_length=1)


def parse_sites(text: str) -> dict[str, Site]:
    """`SCHUTZ_SITES`: `shop=https://shop.example,https://www.shop.example;blog=https://b.example`.

    Raises `InvalidInput` (or pydantic's ValidationError for a bad origin) naming the part
    that is wrong.
    """
    sites: dict[str, Site] = {}
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        key, eq, origins = part.partition("=")
        key = key.strip()
        if not eq or not SITE_KEY.fullmatch(key):
            raise InvalidInput(f"SCHUTZ_SITES: {part!r} must read site=https://origin[,…]")
        sites[key] = Site(origins=tuple(o for o in origins.split(",") if o.strip()))
    return sites


def declared_sites(policy_sites: Mapping[str, Site], extra: str = "") -> dict[str, Site]:
    """The policy's sites, with those of `SCHUTZ_SITES` added (a key in both gets both lists)."""
    merged = dict(policy_sites)
    for key, site in parse_sites(extra).items():
        known = merged.get(key)
        origins = (*known.origins, *site.origins) if known else site.origins
        merged[key] = Site(origins=tuple(dict.fromkeys(origins)))
    return merged


def site_of_origin(sites: Mapping[str, Site], origin: str) -> set[str]:
    """The keys of the sites `origin` belongs to (empty when it is declared nowhere)."""
    try:
        wanted = normalise_origin(origin)
    except ValueError:
        return set()
    return {key for key, site in sites.items() if wanted in site.origins}
