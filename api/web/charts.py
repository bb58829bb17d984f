"""Server-rendered SVG charts, readable without colour: every bar carries its label and its number
as text, the chart has a title and a description for screen readers, and a table follows it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

# Each bar has its label on a line of its own above it, so the chart is narrow (WIDTH units) and its
# text stays legible when a phone shrinks it to the screen: 14-unit text at 390 px is ~12 px.
ROW = 44  # a label line and a bar
BAR_Y = 20  # the bar's offset in its row, under the label
BAR_H = 16
WIDTH = 400
BAR_W = 320  # the longest bar; its number goes after it
LABEL_CHARS = 54


def _count(value: int, unit: str) -> str:
    """``1 line``, ``2 lines`` (a unit is given in the plural)."""
    return f"{value} {unit[:-1] if value == 1 and unit.endswith('s') else unit}".strip()


def bars(rows: Sequence[tuple[str, int]], title: str, unit: str = "") -> Markup:
    """A horizontal bar chart of (label, value) rows."""
    if not rows:
        return Markup("")
    top = max(max(v for _, v in rows), 1)
    height = ROW * len(rows) + 6
    desc = "; ".join(f"{label}: {_count(value, unit)}" for label, value in rows)
    parts = [f'<svg class="chart" role="img" aria-labelledby="c-t c-d" viewBox="0 0 {WIDTH} {height}" '
             f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">',
             f'<title id="c-t">{escape(title)}</title><desc id="c-d">{escape(desc)}</desc>']
    for i, (label, value) in enumerate(rows):
        y = 2 + i * ROW
        w = round(BAR_W * value / top) if value else 0
        parts.append(f'<text x="2" y="{y + 15}" class="chart-label">{escape(_short(label, LABEL_CHARS))}</text>')
        parts.append(f'<rect x="2" y="{y + BAR_Y}" width="{max(w, 1)}" height="{BAR_H}" '
                     f'class="chart-bar" fill="#1f4e79" stroke="#000" stroke-width="1"/>')
        parts.append(f'<text x="{2 + max(w, 1) + 6}" y="{y + BAR_Y + 13}" class="chart-value">{value}</text>')
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
             unit: str = "", ident: str = "tl", name: Callable[[str], str] = str) -> Markup:
    """Grouped horizontal bars: for each period, one labelled, patterned bar per series present
    (``name``: a series' label from its key; ``data-series`` keeps the key)."""
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
    legend_row = 26
    legend_h = legend_row * ((len(names) + 1) // 2) + 6
    heading = 26
    height = legend_h + sum(heading if k is None else ROW for _, k, _ in rows) + 6
    desc = "; ".join(f"{p} {name(k)}: {_count(v, unit)}" for p, k, v in rows if k is not None)
    if len(desc) > 2000:
        desc = desc[:1990] + "… (all numbers are in the table below)"
    parts = [f'<svg class="chart chart-timeline" role="img" aria-labelledby="{ident}-t {ident}-d" '
             f'viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
             f'xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(desc)}</desc><defs>']
    parts += [f'<pattern id="{ident}-p-{pat}" width="8" height="8" patternUnits="userSpaceOnUse">{body}</pattern>'
              for pat, body in PATTERNS[:len(names)]]
    parts.append("</defs>")
    for i, key in enumerate(names):  # the legend: the same pattern and the name beside it
        x, y = (i % 2) * (WIDTH // 2), 4 + (i // 2) * legend_row
        parts.append(f'<rect x="{x + 2}" y="{y + 2}" width="18" height="16" fill="url(#{ident}-p-{pattern[key]})" '
                     f'stroke="#000" stroke-width="1"/><text x="{x + 26}" y="{y + 15}" class="chart-label">'
                     f"{escape(_short(name(key), 24))}</text>")
    y = legend_h
    for p, k, value in rows:
        if k is None:
            parts.append(f'<text x="2" y="{y + 18}" class="chart-period" font-weight="bold">{escape(p)}</text>')
            y += heading
            continue
        w = max(round(BAR_W * value / top), 1)
        parts.append(f'<text x="2" y="{y + 15}" class="chart-label">{escape(_short(name(k), LABEL_CHARS))}</text>')
        parts.append(f'<rect x="2" y="{y + BAR_Y}" width="{w}" height="{BAR_H}" class="chart-bar" '
                     f'fill="url(#{ident}-p-{pattern[k]})" stroke="#000" stroke-width="1" data-period="{escape(p)}" '
                     f'data-series="{escape(k)}" data-value="{value}"/>')
        parts.append(f'<text x="{2 + w + 6}" y="{y + BAR_Y + 13}" class="chart-value">{value}</text>')
        y += ROW
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape(); numbers are ints


def _short(label: str, n: int) -> str:
    return label if len(label) <= n else label[:n - 1] + "…"
