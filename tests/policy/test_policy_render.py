"""Rendering the policy as Markdown in English and German."""

from __future__ import annotations

import pytest

from schutz.policy.render import describe_duration, render_markdown


@pytest.mark.parametrize(
    ("duration", "lang", "text"),
    [
        ("P2Y", "en", "2 years"),
        ("P1Y", "de", "1 Jahr"),
        ("P13M", "de", "13 Monate"),
        ("P1Y6M", "en", "1 year, 6 months"),
        ("session", "en", "until you close the browser"),
    ],
)
def test_durations_read_naturally(duration, lang, text):
    assert describe_duration(duration, lang) == text


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["# Privacy policy", "Art. 6(1)(a) GDPR", "schutz_vid", "within 1 month"]),
        ("de", ["# Datenschutzerklärung", "Art. 6 Abs. 1 lit. a DSGVO", "innerhalb von 1 Monat"]),
    ],
)
def test_rendered_policy_is_in_the_asked_language(bundled, lang, words):
    text = render_markdown(bundled.latest, lang)
    for word in words:
        assert word in text
    assert "Hansaallee 299" in text
