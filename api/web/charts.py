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


# Fills told apart without colour: each series has its own pattern, and every bar also carries the
# series' name and its number as text, so neither colour nor pattern is needed to read it.
PATTERNS = (
    ("solid", '<rect width="8" height="8" fill="#1f4e79"/>'),
    ("hatch", '<rect width="8" height="8" fill="#fff"/><path d="M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4" '
              'stroke="#000" stroke-width="1.6"/>'),
    ("dots", '<rect width="8" height="8" fill="#fff"/><circle cx="4" cy="4" r="1.8" fill="#000"/>'),
    ("cross", '<rect width="8" height="8" fill="#fff"/><path d="M0,0 l8,8 M8,0 l-8,8" stroke="#000" '
              'stroke-width="1.2"/>'),
    ("hlines", '<rect width="8" height="8" fill="#fff"/><path d="M0,2 h8 M0,6 h8" stroke="#000" '
               'stroke-width="1.4"/>'),
    ("vlines", '<rect width="8" height="8" fill="#fff"/><path d="M2,0 v8 M6,0 v8" stroke="#000" '
               'stroke-width="1.4"/>'),
    ("grey", '<rect width="8" height="8" fill="#9a9a9a"/>'),
    ("checks", '<rect width="8" height="8" fill="#fff"/><rect width="4" height="4" fill="#000"/>'
               '<rect x="4" y="4" width="4" height="4" fill="#000"/>'),
)
MAX_SERIES = len(PATTERNS)
OTHER = "other"


def series(cells: dict[tuple[str, str], int], keys: Sequence[str]) -> tuple[list[str], dict[tuple[str, str], int]]:
    """At most MAX_SERIES series: the largest keys, the rest summed into ``other``."""
    if len(keys) <= MAX_SERIES:
        return list(keys), dict(cells)
    totals = {k: sum(v for (_, kk), v in cells.items() if kk == k) for k in keys}
    kept = sorted(sorted(keys, key=lambda k: -totals[k])[:MAX_SERIES - 1])
    out: dict[tuple[str, str], int] = {}
    for (p, k), v in cells.items():
        key = (p, k if k in kept else OTHER)
        out[key] = out.get(key, 0) + v
    return [*kept, OTHER], out


def timeline(periods: Sequence[str], keys: Sequence[str], cells: dict[tuple[str, str], int], title: str,
             unit: str = "", ident: str = "tl") -> Markup:
    """Grouped horizontal bars: for each period, one labelled, patterned bar per series present."""
    if not cells:
        return Markup("")
    names, values = series(cells, keys)
    pattern = {k: PATTERNS[i][0] for i, k in enumerate(names)}
    top = max(max(values.values()), 1)
    rows: list[tuple[str, str | None, int]] = []  # (period, series or None for the heading, value)
    for p in periods:
        present = [k for k in names if values.get((p, k))]
        if present:
            rows.append((p, None, 0))
            rows.extend((p, k, values[(p, k)]) for k in present)
    legend_h = ROW * ((len(names) + 2) // 3) + 6
    height = legend_h + ROW * len(rows) + 10
    width = LABEL_W + BAR_W + 90
    desc = "; ".join(f"{p} {k}: {v} {unit}".strip() for p, k, v in rows if k is not None)
    if len(desc) > 2000:
        desc = desc[:1990] + "… (all numbers are in the table below)"
    parts = [f'<svg class="chart chart-timeline" role="img" aria-labelledby="{ident}-t {ident}-d" '
             f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
             f'xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(desc)}</desc><defs>']
    parts += [f'<pattern id="{ident}-p-{name}" width="8" height="8" patternUnits="userSpaceOnUse">{body}</pattern>'
              for name, body in PATTERNS[:len(names)]]
    parts.append("</defs>")
    for i, name in enumerate(names):  # the legend: the same pattern and the name beside it
        x, y = (i % 3) * (width // 3), 4 + (i // 3) * ROW
        parts.append(f'<rect x="{x + 2}" y="{y + 4}" width="18" height="16" fill="url(#{ident}-p-{pattern[name]})" '
                     f'stroke="#000" stroke-width="1"/><text x="{x + 26}" y="{y + 17}" class="chart-label">'
                     f"{escape(_short(name, 26))}</text>")
    for i, (p, k, value) in enumerate(rows):
        y = legend_h + i * ROW
        if k is None:
            parts.append(f'<text x="4" y="{y + 18}" class="chart-period" font-weight="bold">{escape(p)}</text>')
            continue
        w = max(round(BAR_W * value / top), 1)
        parts.append(f'<text x="{LABEL_W - 6}" y="{y + 17}" text-anchor="end" class="chart-label">'
                     f"{escape(_short(k, 30))}</text>")
        parts.append(f'<rect x="{LABEL_W}" y="{y + 3}" width="{w}" height="{ROW - 8}" class="chart-bar" '
                     f'fill="url(#{ident}-p-{pattern[k]})" stroke="#000" stroke-width="1" data-period="{escape(p)}" '
                     f'data-series="{escape(k)}" data-value="{value}"/>')
        parts.append(f'<text x="{LABEL_W + w + 6}" y="{y + 17}" class="chart-value">{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape(); numbers are ints


def _short(label: str, n: int) -> str:
    return label if len(label) <= n else label[:n - 1] + "…"
