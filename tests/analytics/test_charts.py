"""SVG charts drawn on the server: well-formed, escaped, no style attributes (CSP)."""

from __future__ import annotations

from xml.etree import ElementTree

from schutz.analytics.charts import bar_chart, hbar_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_a_bar_chart_has_one_bar_per_point_and_parses() -> None:
    svg = bar_chart([("Mon", 3), ("Tue", 0), ("Wed", 12)], title="Visits")

    root = ElementTree.fromstring(svg)  # noqa: S314 - our own output
    assert root.tag == f"{SVG}svg"
    assert len(root.findall(f"{SVG}rect")) == 3
    assert "style=" not in svg


def test_labels_are_escaped() -> None:
    svg = hbar_chart([("/<script>alert(1)</script>", 5)], title='Top "pages"')

    assert "<script>" not in svg
    ElementTree.fromstring(svg)  # noqa: S314 - our own output


def test_an_empty_chart_is_still_a_chart() -> None:
    ElementTree.fromstring(bar_chart([], title="none"))  # noqa: S314 - our own output
    ElementTree.fromstring(hbar_chart([], title="none"))  # noqa: S314 - our own output
