"""Server-rendered SVG charts, readable without colour: every bar carries its label and its number
as text, the chart has a title and a description for screen readers, and a table follows it."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

ROW = 28
LABEL_W = 210
BAR_W = 300


def bars(rows: Sequence[tuple[str, int]], title: str, unit: str = "") -> Markup:
    """A horizontal bar chart of (label, value) rows."""
    if not rows:
        return Markup("")
    top = max(max(v for _, v in rows), 1)
    height = ROW * len(rows) + 10
    width = LABEL_W + BAR_W + 90
    desc = "; ".join(f"{label}: {value} {unit}".strip() for label, value in rows)
    parts = [f'<svg class="chart" role="img" aria-labelledby="c-t c-d" viewBox="0 0 {width} {height}" '
             f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">',
             f'<title id="c-t">{escape(title)}</title><desc id="c-d">{escape(desc)}</desc>']
    for i, (label, value) in enumerate(rows):
        y = 5 + i * ROW
        w = round(BAR_W * value / top) if value else 0
        short = label if len(label) <= 30 else label[:29] + "…"
        parts.append(f'<text x="{LABEL_W - 6}" y="{y + 17}" text-anchor="end" class="chart-label">'
                     f"{escape(short)}</text>")
        parts.append(f'<rect x="{LABEL_W}" y="{y + 3}" width="{max(w, 1)}" height="{ROW - 8}" '
                     f'class="chart-bar" fill="#1f4e79" stroke="#000" stroke-width="1"/>')
        parts.append(f'<text x="{LABEL_W + max(w, 1) + 6}" y="{y + 17}" class="chart-value">{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape(); numbers are ints
