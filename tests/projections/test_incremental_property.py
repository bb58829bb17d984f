"""Views built incrementally — random page sizes, runners restarted between pages, catching up
while the log grows — equal the views rebuilt from scratch, row for row, on both backends."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from logbuild import LogBuilder
from pjfix import dump, other_views_url, runner

AGENCIES = ["DHS/ICE", "DOJ/FBI", "HHS/OIG"]
EXCEPTIONS = ["6103(i)(2)", "6103(i)(1)", "6103(m)", "6103(l)(7)"]

small = st.integers(0, 50)
flags = st.lists(st.booleans(), min_size=1, max_size=5)
ops = st.one_of(
    st.tuples(st.just("request"), st.one_of(st.integers(1, 5), st.integers(129, 131)), st.sampled_from(AGENCIES),
              st.sampled_from(EXCEPTIONS), flags, st.one_of(st.none(), small)),
    st.tuples(st.just("match"), small, st.lists(st.one_of(st.none(), st.integers(0, 8)), min_size=1, max_size=4),
              st.lists(st.integers(0, 6), min_size=1, max_size=4)),
    st.tuples(st.just("review"), small, flags),
    st.tuples(st.just("release"), small, flags),
    st.tuples(st.just("withdraw"), small),
    st.tuples(st.just("safeguard"), st.sampled_from(AGENCIES), st.booleans(), st.integers(0, 3)),
    st.tuples(st.just("inspection"), st.integers(0, 8)),
    st.tuples(st.just("blocked"), st.sampled_from(["request", "release", "review"])),
)


def _play(log: LogBuilder, op: tuple, released: set) -> None:
    kind, *args = op
    if kind == "request":
        log.request(*args)
    elif kind == "safeguard":
        log.safeguard(*args)
    elif kind == "inspection":
        log.inspection(*args)
    elif kind == "blocked":
        log.blocked(*args)
    elif log.requests:
        if kind == "match":
            log.match(*args)
        elif kind == "review":
            log.review(*args)
        elif kind == "release":
            log.release(*args, released)
        elif kind == "withdraw":
            log.withdraw(*args)


def _partial(url: str, views: str, pages: list[int], steps: list[int]) -> None:
    """Runners that each apply a few pages of some size, then stop (a restart)."""
    for page, n in zip(pages, steps, strict=False):
        r = runner(url, views, page=page)
        r.create()
        for p in r.projections.values():
            for _ in range(n):
                r.step(p)
        r.views.close()
        r.source.db.close()


@pytest.mark.slow
def test_incremental_equals_rebuild(settings, tmp_path):
    """For random logs and random batching/restarts, incremental views == rebuilt views."""
    log = LogBuilder.open(settings)
    inc_url, cleanup_inc = other_views_url(settings.db_url, tmp_path)
    full_url, cleanup_full = other_views_url(settings.db_url, tmp_path)
    released: set = set()

    @hsettings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
    @given(first=st.lists(ops, max_size=8), second=st.lists(ops, max_size=8),
           pages=st.lists(st.integers(1, 9), min_size=1, max_size=4),
           steps=st.lists(st.integers(0, 3), min_size=1, max_size=4))
    def check(first, second, pages, steps):
        for op in first:
            _play(log, op, released)
        _partial(settings.db_url, inc_url, pages, steps)  # part way, then the log grows
        for op in second:
            _play(log, op, released)
        _partial(settings.db_url, inc_url, pages[::-1], steps)
        r = runner(settings.db_url, inc_url, page=pages[0])
        r.catch_up()
        rebuilt = runner(settings.db_url, full_url)
        rebuilt.rebuild()
        assert all(s.lag == 0 for s in r.status())
        assert dump(r.views) == dump(rebuilt.views)
        r.views.close()
        rebuilt.views.close()

    try:
        check()
        # the generated logs did exercise the views
        final = dump(runner(settings.db_url, full_url).views)
        assert final["pj_request"] and final["pj_line"]
    finally:
        log.ledger.close()
        cleanup_inc()
        cleanup_full()
