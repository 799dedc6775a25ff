"""Consent per service in the `schutz_consent` cookie: a click on one embed's placeholder
allows that provider alone; a decision about the whole category replaces single answers."""

from __future__ import annotations

from schutz.cookies.choices import Choices, decode

VID = "Zq3Kx0123456789abcdefg"


def test_one_service_is_allowed_alone_and_survives_the_cookie() -> None:
    choices = Choices(VID).with_({}, "2026-11", {"facebook": True})

    back = decode(choices.encode())

    assert back is not None
    assert back.allows_service("facebook", "embeds")
    assert not back.allows_service("twitter", "embeds")
    assert back.needs_asking(("analytics", "embeds"))


def test_a_category_decision_replaces_single_answers() -> None:
    choices = (
        Choices(VID).with_({}, "2026-11", {"facebook": True}).with_({"embeds": False}, "2026-11")
    )
    assert not choices.allows_service("facebook", "embeds")
    assert choices.services == {}


def test_cookies_from_before_services_still_read() -> None:
    back = decode(f"{VID}.2026-11.a1e0")
    assert back is not None
    assert back.services == {}
    assert back.allows("analytics")
