"""The report's charts as inline SVG: drawn on the server, no JavaScript, nothing fetched.

Every text that goes into the markup is escaped (an authority code or a platform name is data).
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
INK = "#1f2937"
BAR = "#2563eb"
GRID = "#d1d5db"


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float  # drawn
    text: str  # printed beside the bar


def _svg(title: str, height: int, body: list[str]) -> Markup:
    t = escape(title)
    return Markup(  # noqa: S704 - every interpolated text is escaped above or by the callers
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11" fill="{INK}">'
        f"<title>{t}</title>" + "".join(body) + "</svg>"
    )


def _empty(title: str, message: str) -> Markup:
    return _svg(title, 60, [f'<text x="{WIDTH / 2}" y="34" text-anchor="middle">{escape(message)}</text>'])


def columns(title: str, bars: list[Bar], *, y_max: float, empty: str) -> Markup:
    """Vertical bars over labelled columns (the histogram, the monthly rate); none: ``empty``."""
    if not bars:
        return _empty(title, empty)
    height, top, bottom, left = 240, 20, 40, 10
    plot_h = height - top - bottom
    slot = (WIDTH - 2 * left) / len(bars)
    scale = plot_h / y_max if y_max > 0 else 0
    base = top + plot_h
    body = [f'<line x1="{left}" y1="{base}" x2="{WIDTH - left}" y2="{base}" stroke="{GRID}"/>']
    width = min(slot * 0.7, 56)
    for n, b in enumerate(bars):
        h = max(b.value * scale, 0)
        cx = left + n * slot + slot / 2
        body.append(
            f'<rect x="{cx - width / 2:.1f}" y="{base - h:.1f}" width="{width:.1f}" height="{h:.1f}" '
            f'fill="{BAR}"/>'
        )
        body.append(f'<text x="{cx:.1f}" y="{base - h - 4:.1f}" text-anchor="middle">{escape(b.text)}</text>')
        body.append(f'<text x="{cx:.1f}" y="{base + 16}" text-anchor="middle">{escape(b.label)}</text>')
    return _svg(title, height, body)


def rows(title: str, bars: list[Bar], *, empty: str) -> Markup:
    """Horizontal bars, one labelled row each (orders per authority)."""
    if not bars:
        return _empty(title, empty)
    row_h, label_w, pad = 24, 140, 10
    height = row_h * len(bars) + 2 * pad
    top = max((b.value for b in bars), default=0)
    span = WIDTH - label_w - 70
    body = []
    for n, b in enumerate(bars):
        y = pad + n * row_h
        w = span * b.value / top if top else 0
        body.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{escape(b.label)}</text>')
        body.append(f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" fill="{BAR}"/>')
        body.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 16}">{escape(b.text)}</text>')
    return _svg(title, height, body)
