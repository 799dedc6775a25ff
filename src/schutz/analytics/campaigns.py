"""Campaign parameters: the `utm_*` keys kept from a page's address, and nothing else.

A shop's addresses carry all kinds of query parameters (session ids, e-mail addresses in
newsletter links, search terms); only the five conventional campaign keys are kept, each
cut to 100 printable characters, and every other parameter is dropped before storage.
"""

from __future__ import annotations

from urllib.parse import urlencode

from schutz.analytics.redact import looks_personal

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
VALUE_MAX = 100


def clean_utm(raw: object) -> str | None:
    """`{"utm_source": "mail", "q": "x"}` as `utm_source=mail`; None when nothing is left."""
    if not isinstance(raw, dict):
        return None
    kept = []
    for key in UTM_KEYS:
        value = raw.get(key)
        if isinstance(value, str) and value and value.isprintable() and not looks_personal(value):
            kept.append((key, value[:VALUE_MAX]))
    return urlencode(kept) if kept else None
