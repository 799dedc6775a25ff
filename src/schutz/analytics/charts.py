"""Charts as SVG text, drawn on the server: no chart library, no request to another host.

Colours are presentation attributes, not `style`, so the strict Content-Security-Policy
(`style-src 'self'`) does not block them. Every label is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH = 720
HEIGHT = 220
PAD_LEFT = 44
PAD_BOTTOM = 28
PAD_TOP = 12
BAR = "#1f5f8b"
GRID = "#d5dbe1"
TEXT = "#334"


def _nice_max(value: int) -> int:
    """A top for the value axis at or above `value`, so that its quarters are round numbers:
    four times 1, 2 or 5 times a power of ten (at least 4)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if 4 * step * factor >= value:
                return 4 * step * factor
        step *= 10


def _frame(title: str, width: int, height: int, body: list[str]) -> str:
    label = escape(title)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{label}" class="chart">'
        f"<title>{label}</title>{''.join(body)}</svg>"
    )


def _grid(top: int, width: int, height: int) -> list[str]:
    base = height - PAD_BOTTOM
    parts = []
    for i in range(5):
        y = base - (base - PAD_TOP) * i / 4
        parts.append(
            f'<line x1="{PAD_LEFT}" y1="{y:.1f}" x2="{width - 4}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="{TEXT}">{top * i // 4}</text>'
        )
    return parts


def bar_chart(
    points: Sequence[tuple[str, int]],
    *,
    title: str,
    width: int = WIDTH,
    height: int = HEIGHT,
    label_every: int = 1,
) -> str:
    """Vertical bars, one per `(label, value)`, with a value axis starting at zero."""
    top = _nice_max(max((v for _, v in points), default=0))
    body = _grid(top, width, height)
    base = height - PAD_BOTTOM
    slot = (width - PAD_LEFT - 8) / max(len(points), 1)
    for i, (label, value) in enumerate(points):
        h = (base - PAD_TOP) * value / top
        x = PAD_LEFT + 4 + i * slot
        body.append(
            f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{max(slot * 0.75, 1):.1f}" '
            f'height="{h:.1f}" fill="{BAR}"><title>{escape(label)}: {value}</title></rect>'
        )
        if i % max(label_every, 1) == 0:
            body.append(
                f'<text x="{x + slot * 0.375:.1f}" y="{height - 10}" text-anchor="middle" '
                f'font-size="11" fill="{TEXT}">{escape(label)}</text>'
            )
    return _frame(title, width, height, body)


def hbar_chart(
    points: Sequence[tuple[str, int]], *, title: str, width: int = WIDTH, row: int = 24
) -> str:
    """Horizontal bars with the label on the left: for paths and referrers."""
    height = max(len(points), 1) * row + 8
    top = max((v for _, v in points), default=0) or 1
    label_w = 260
    body = []
    for i, (label, value) in enumerate(points):
        y = 4 + i * row
        w = (width - label_w - 60) * value / top
        shown = label if len(label) <= 38 else label[:37] + "…"
        body.append(
            f'<text x="{label_w - 8}" y="{y + row * 0.65:.1f}" text-anchor="end" '
            f'font-size="12" fill="{TEXT}">{escape(shown)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row - 8}" '
            f'fill="{BAR}"><title>{escape(label)}: {value}</title></rect>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + row * 0.65:.1f}" font-size="12" '
            f'fill="{TEXT}">{value}</text>'
        )
    return _frame(title, width, height, body)
