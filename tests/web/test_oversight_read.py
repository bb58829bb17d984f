"""One oversight read behind both surfaces: ``POST /v1/oversight/taxpayer`` and the dashboard's
taxpayer lookup both call ``ReadSide.taxpayer_history`` (usecases.oversight_read) once per read,
each records one inspection and reads at a position past it, and they show the same history; a
read whose views cannot catch up within the bound is recorded, not answered — a 503 problem in
JSON, a 503 page in HTML (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from test_pages import csrf_of, signed_in

from ledger.core.entry import parse_entry
from ledger.core.statement import parse_statement
from usecases.oversight_read import ReadSide, TaxpayerHistory

TAXPAYER = "/v1/oversight/taxpayer"
ROW = re.compile(r'<tr>\s*<td><a href="/entries/(\d+)">')


def bearer(demo: Any, role: str = "oversight") -> dict[str, str]:
    return {"Authorization": f"Bearer {demo.tokens[role]}"}


def reads_of(demo: Any) -> ReadSide:
    reads: ReadSide = demo.app.state.dl.reads
    return reads


@contextmanager
def counted(reads: ReadSide) -> Iterator[list[TaxpayerHistory]]:
    """Every answer the one use case gives while inside (the real function runs; its answers are kept)."""
    calls: list[TaxpayerHistory] = []
    real = reads.taxpayer_history

    def spy(*args: Any, **kwargs: Any) -> TaxpayerHistory:
        got = real(*args, **kwargs)
        calls.append(got)
        return got

    reads.taxpayer_history = spy  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        del reads.taxpayer_history  # the class's function again


def kind_at(demo: Any, index: int) -> str:
    return parse_statement(parse_entry(demo.ledger.entry(index)).statement).type


def history_rows(html: str) -> list[int]:
    """The entry indexes of the history table's rows, in page order."""
    table = html.split('<table id="history">', 1)[1].split("</table>", 1)[0]
    return [int(i) for i in ROW.findall(table)]


def test_json_and_page_are_one_read_with_the_same_history(any_demo):
    demo, reads = any_demo, reads_of(any_demo)
    tin = any_demo.released_tin()
    c = signed_in(demo, "oversight")
    csrf = csrf_of(c, "/taxpayer")
    size = demo.ledger.size()
    with counted(reads) as calls:
        api = httpx.post(demo.base + TAXPAYER, json={"tin": tin, "purpose": "json read", "limit": 1000},
                         headers=bearer(demo))
        page = c.post("/taxpayer", data={"csrf": csrf, "tin": tin, "purpose": "page read"})
    assert api.status_code == 200 and page.status_code == 200, (api.text, page.text)
    assert len(calls) == 2  # each surface: one call of the use case
    first, second = calls
    assert demo.ledger.size() == size + 2  # one inspection per read, nothing else
    assert [first.inspection.index, second.inspection.index] == [size, size + 1]
    assert [kind_at(demo, size), kind_at(demo, size + 1)] == ["inspection", "inspection"]
    for read in calls:  # both caught up by the same rule: to (at least) their own inspection
        assert read.position > read.inspection.index
    body = api.json()
    assert body["inspection"]["index"] == first.inspection.index
    assert body["caught_up"] is True
    assert re.search(rf'recorded as entry\s*<a href="/entries/{second.inspection.index}"', page.text)
    # the same history: the JSON's events, then the page's own inspection (the page shows its first 50)
    json_rows = [(e["kind"], e["index"]) for e in body["items"]]
    assert json_rows == [(e["kind"], e["index"]) for e in first.items]
    shown = history_rows(page.text)
    assert shown == [e["index"] for e in second.items]
    assert shown == [i for _, i in [*json_rows, ("inspection", second.inspection.index)]][:len(shown)]
    assert {"request", "release", "inspection"} <= {k for k, _ in json_rows}
    assert ("inspection", first.inspection.index) in json_rows


@contextmanager
def views_held(reads: ReadSide, timeout: float) -> Iterator[None]:
    """The views cannot move while inside (their lock is held here, as a long catch-up would), and a
    read waits for them at most ``timeout`` seconds."""
    bound = reads.catch_up_timeout
    reads.catch_up_timeout = timeout
    assert reads.views.lock.acquire(timeout=30)
    try:
        yield
    finally:
        reads.views.lock.release()
        reads.catch_up_timeout = bound


def test_views_that_cannot_catch_up_in_time_fail_both_surfaces(any_demo):
    demo, reads = any_demo, reads_of(any_demo)
    tin = any_demo.released_tin()
    c = signed_in(demo, "court")
    csrf = csrf_of(c, "/taxpayer")
    size = demo.ledger.size()
    with counted(reads) as calls, views_held(reads, 0.3):
        api = httpx.post(demo.base + TAXPAYER, json={"tin": tin, "purpose": "json read"},
                         headers=bearer(demo, "court"), timeout=30)
        page = c.post("/taxpayer", data={"csrf": csrf, "tin": tin, "purpose": "page read"}, timeout=30)
    assert calls == []  # neither answered
    assert api.status_code == 503 and api.headers["content-type"].startswith("application/problem+json")
    problem = api.json()
    assert problem["type"].endswith("/views-behind") and problem["status"] == 503
    assert problem["inspection_index"] == size and problem["views_position"] <= size
    assert f"recorded as entry {size}" in problem["detail"] and "nothing was read" in problem["detail"]
    assert api.headers["X-Inspection-Index"] == str(size) and int(api.headers["Retry-After"]) >= 1
    assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
    assert "Recorded, not yet readable" in page.text
    assert f"recorded in the ledger as entry {size + 1}" in page.text and "nothing was read" in page.text
    assert '<table id="history">' not in page.text and tin not in page.text
    # both reads were recorded (fail closed: the read stands in the log although nothing was shown)
    assert demo.ledger.size() == size + 2
    assert [kind_at(demo, size), kind_at(demo, size + 1)] == ["inspection", "inspection"]
    # once the views can move, a read is answered and shows the two unanswered reads too
    again = httpx.post(demo.base + TAXPAYER, json={"tin": tin, "purpose": "again", "limit": 1000},
                       headers=bearer(demo, "court"))
    assert again.status_code == 200
    seen = {e["index"] for e in again.json()["items"] if e["kind"] == "inspection"}
    assert {size, size + 1, size + 2} <= seen


def test_the_bound_is_the_setting_read_at_start_up(any_demo):
    """The bound comes from ApiSettings (LEDGER_API_CATCH_UP_TIMEOUT), given to the read side once."""
    state = any_demo.app.state.dl
    assert state.reads.catch_up_timeout == state.settings.catch_up_timeout == 2.0


def test_no_read_path_module_reads_the_environment():
    """Configuration (the views' database, the bound) is read once at start-up by the command that
    builds the app (api/cli.py, api/settings.py); nothing a request runs reads the environment."""
    root = Path(__file__).resolve().parents[2]
    files = [*(root / "usecases").rglob("*.py"), *(root / "api" / "web").rglob("*.py"),
             *(root / "api" / "routes").rglob("*.py"), root / "api" / "app.py", root / "api" / "state.py",
             *(p for p in (root / "projections").rglob("*.py") if p.name != "cli.py")]
    found = [str(p.relative_to(root)) for p in files
             if re.search(r"os\.environ|getenv|from os import", p.read_text(encoding="utf-8"))]
    assert found == []
