"""CSV downloads never carry a spreadsheet formula (OWASP CSV injection), through the API and the
dashboard alike, with one shared guard; the JSON keeps the value as it was logged."""

from __future__ import annotations

import csv
import io

import pytest

from api.csvsafe import neutralise_formula
from api.routes.views import to_csv
from api.web.routes import reports as web_routes
from ledger.authoring import disclosure as dc

# What a spreadsheet evaluates (or strips, then evaluates), and values it must leave alone.
FORMULAS = ["=1+1", "+SUM(A1:A9)", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1", "=HYPERLINK(\"http://x\",\"y\")"]
PLAIN = ["DHS/ICE", "6103(i)(2)", "a=b", "1-2", "", "'=already"]


@pytest.mark.parametrize("text", FORMULAS)
def test_formula_cells_are_neutralised(text):
    """Every OWASP formula start gets a leading apostrophe, in the API's CSV and the dashboard's cells."""
    assert neutralise_formula(text) == "'" + text
    assert web_routes._cell(text) == "'" + text
    rows = list(csv.reader(io.StringIO(to_csv([{"value": text, "n": 3}]), newline="")))
    assert rows == [["value", "n"], ["'" + text, "3"]]


@pytest.mark.parametrize("text", PLAIN)
def test_other_cells_are_unchanged(text):
    """Cells that do not start like a formula keep their text exactly."""
    assert neutralise_formula(text) == text == web_routes._cell(text)
    assert list(csv.reader(io.StringIO(to_csv([{"value": text}]), newline="")))[1] == [text]


def test_a_logged_formula_is_inert_in_the_downloaded_csv(api):
    """A validly signed safeguard status whose agency code reads as a formula ('+SUM(A1:A9)' is a
    well-formed code): the CSV download neutralises it, the JSON answer gives it as logged."""
    reviewer = api.domain.principal("irs.gov/safeguards-1", ["oversight"])
    for agency in ("+SUM(A1:A9)", "-2+3"):
        sub = dc.safeguard_status(reviewer, agency, ssr_approved=False, open_findings=2)
        assert api.client.post("/v1/statements", json=api.submission(sub)).status_code == 201
    state = api.client.app.state.dl  # type: ignore[attr-defined]
    state.reads.views.runner.catch_up()
    js = api.client.get("/v1/oversight/safeguards", headers=api.auth("court")).json()["items"]
    assert sorted(r["agency"] for r in js) == ["+SUM(A1:A9)", "-2+3"]
    r = api.client.get("/v1/oversight/safeguards", params={"format": "csv"}, headers=api.auth("court"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text, newline="")))
    assert sorted(row["agency"] for row in rows) == ["'+SUM(A1:A9)", "'-2+3"]
    assert not any(v[:1] in "=+-@\t\r" for row in rows for v in row.values() if v)
