"""The time chart's SVG without a server: every bar named and numbered in text, a pattern per series
(not colour alone), series past the patterns folded into "other", and the period chosen by span."""

from __future__ import annotations

import re

from api.web.charts import MAX_SERIES, OTHER, timeline
from projections.timeline import granularity

BAR = re.compile(r'fill="url\(#t-p-(\w+)\)" stroke="#000" stroke-width="1" data-period="([^"]+)" '
                 r'data-series="([^"]+)" data-value="(\d+)"/><text [^>]+>(\d+)</text>')


def test_each_bar_has_its_label_number_and_own_pattern():
    """Two periods, three agencies: six bars, each with its value as text, one pattern per agency."""
    cells = {("2025-08", a): n for a, n in (("DHS/ICE", 40), ("DOJ", 3), ("SSA", 7))}
    cells |= {("2025-09", "DHS/ICE"): 12, ("2025-09", "SSA"): 1}
    svg = str(timeline(["2025-08", "2025-09"], ["DHS/ICE", "DOJ", "SSA"], cells, "Per month", ident="t"))
    bars = BAR.findall(svg)
    assert {(p, k): int(v) for _, p, k, v, _ in bars} == cells
    assert all(v == text for *_, v, text in bars)
    patterns = {k: pat for pat, _, k, _, _ in bars}
    assert len(set(patterns.values())) == 3  # told apart without colour
    assert svg.count(">DHS/ICE</text>") == 3  # legend + one direct label per period
    assert '<title id="t-t">Per month</title>' in svg and "2025-09 SSA: 1" in svg


def test_more_series_than_patterns_fold_into_other():
    """Past MAX_SERIES keys the smallest are summed as "other"; the total is unchanged."""
    keys = [f"AG{i:02d}" for i in range(MAX_SERIES + 3)]
    cells = {("2026-01-01", k): i + 1 for i, k in enumerate(keys)}
    svg = str(timeline(["2026-01-01"], keys, cells, "Per day", ident="t"))
    bars = {k: int(v) for _, _, k, v, _ in BAR.findall(svg)}
    assert len(bars) == MAX_SERIES and OTHER in bars
    assert sum(bars.values()) == sum(cells.values()) and bars[OTHER] == 1 + 2 + 3 + 4
    assert str(timeline([], [], {}, "empty")) == ""


def test_the_period_follows_the_span_of_the_data():
    """A day per bar group up to two months, then months up to three years, then years."""
    assert granularity("2025-08-01T00:00:00Z", "2025-09-30T23:59:59Z") == "day"
    assert granularity("2025-08-01T00:00:00Z", "2025-10-15T00:00:00Z") == "month"
    assert granularity("2023-01-01T00:00:00Z", "2025-12-31T00:00:00Z") == "month"
    assert granularity("2022-01-01T00:00:00Z", "2025-12-31T00:00:00Z") == "year"
    assert granularity(None, None) == "day"
