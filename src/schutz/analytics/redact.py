"""What must not be counted: e-mail addresses and long numbers in paths, referrers and campaigns.

Analytics stores paths, referrers, campaign parameters and event properties as plain text
(they are not personal data, so they are not sealed). A shop's own links can still carry an
address (`/account/erika@example.org`, a newsletter's `utm_term`) or a phone, order or card
number. Anything that looks like one is cut out before storage: a path keeps its other
segments, a campaign value or event property is dropped. Percent-encoding, the full-width at
sign and the spelled-out `(at)` do not hide an address from it.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

_ADDRESS = re.compile(r"[^/?#]*(?:@|\uff20|[(\[{]\s*at\s*[)\]}])[^/?#]*", re.IGNORECASE)
_NUMBER = re.compile(r"\+?\d[\d\s/().-]*\d")
DIGITS_MIN = 9
"""A run of this many digits or more is a phone, order or card number, not a date (8)."""
REDACTED = "~"


def _long_number(match: re.Match[str]) -> bool:
    return sum(c.isdigit() for c in match.group()) >= DIGITS_MIN


def looks_personal(value: str) -> bool:
    """True when `value`, percent-decoded, holds something like an address or a long number."""
    text = unquote(value)
    return bool(_ADDRESS.search(text)) or any(map(_long_number, _NUMBER.finditer(text)))


def redact_path(path: str) -> str:
    """`/user/erika@example.org/orders` becomes `/user/~/orders`, `/tel/030/1234567` becomes
    `/tel/~`; everything else stays as it was."""
    if not looks_personal(path):
        return path
    text = _ADDRESS.sub(REDACTED, unquote(path))
    return _NUMBER.sub(lambda m: REDACTED if _long_number(m) else m.group(), text)
