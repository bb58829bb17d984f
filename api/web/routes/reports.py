"""The oversight tables: agencies and exceptions (with disclosures over time), the § 6103(p)(3)(C)
annual table and its CSV in the JCT layout, and the unlawful-release audit."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi.responses import Response

from api.csvsafe import neutralise_formula
from api.web import charts, labels
from api.web.pages import Page, page, web_router
from api.web.params import filters, page_args, pager, slot, to_int
from projections import timeline

router = web_router()
AnnualPage = Annotated[Page, page("/annual")]

JCT_COLUMNS = ("disclosure_to_for", "subsection", "bulk_master_file_data", "other_disclosures",
               "total_number_of_disclosures", "taxpayers", "imported")


# ---- agencies and exceptions -----------------------------------------------------------------------

@router.get("/disclosures")
def disclosures(p: Annotated[Page, page("/disclosures")]) -> Response:
    f = filters(p.request)
    by = p.request.query_params.get("by") or "agency"
    if by not in ("agency", "exception", "recipient_agency"):
        raise p.bad("by: expected agency, exception or recipient_agency")
    number, size = page_args(p)

    def read(q: Any) -> dict[str, Any]:
        sl, shown = slot(q, "disclosures", number, size, f)
        releases = q.disclosures(**f, limit=size, after=sl.after).items if sl.total else []
        return {"totals": q.disclosure_totals(by, **f),
                "over_time": timeline.disclosures_over_time(q.views, by, **f),
                "releases": releases, "pager": pager("/disclosures", {**f, "by": by}, shown, size, sl.total,
                                                     len(releases)),
                "safeguards": q.safeguard_posture()}

    got = p.query(read)
    label = by.replace("_", " ")
    name = (lambda code: labels.label("exception", code)) if by == "exception" else str
    chart = charts.bars([(name(t[by]), int(t["instances"])) for t in got["totals"]],
                        f"Instances of disclosure by {label}", unit="instances")
    tl = got["over_time"]
    over_time = charts.timeline(tl.periods, tl.keys, tl.cells, f"Instances of disclosure per {tl.period} by {label}",
                                unit="instances", ident="tl", name=lambda k: k if k == charts.OTHER else name(k))
    return p.render("disclosures.html", title="Agencies and exceptions", by=by, f=f, chart=chart,
                    timeline_chart=over_time, **got)


# ---- § 6103(p)(3)(C) annual table ------------------------------------------------------------------

def _year(p: Page) -> int:
    """?year= (this year when absent); a 400 page when it is not a calendar year."""
    raw = p.request.query_params.get("year")
    year = datetime.now(UTC).year if raw is None else to_int(raw, 1900, 9998)
    if year is None:
        raise p.bad("year: expected a calendar year (1900-9998)")
    return year


@router.get("/annual")
def annual(p: AnnualPage) -> Response:
    year = _year(p)
    got = p.query(lambda q: q.annual_report(year))
    chart = charts.bars([(f"{r['agency']} {labels.label('exception', r['exception'])}", int(r["total"])) for r in got],
                        f"Instances of disclosure in {year}", unit="instances")
    return p.render("annual.html", title=f"Annual table {year}", year=year, rows=got, chart=chart)


@router.get("/annual.csv")
def annual_csv(p: AnnualPage) -> Response:
    year = _year(p)
    got = p.query(lambda q: q.jct_table(year))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(JCT_COLUMNS)
    for row in got:
        writer.writerow([_cell(row[c]) for c in JCT_COLUMNS])
    response = Response(buf.getvalue(), media_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="6103p3c-{year}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _cell(value: Any) -> str:
    return neutralise_formula(str(value))  # no formulas in a spreadsheet (api/csvsafe.py, shared with the API)


# ---- unlawful-release audit -----------------------------------------------------------------------

@router.get("/audit")
def audit(p: Annotated[Page, page("/audit")]) -> Response:
    f = filters(p.request)
    number, size = page_args(p)

    def read(q: Any) -> dict[str, Any]:
        sl, shown = slot(q, "release_audit", number, size, f)
        a: dict[str, Any] = q.release_audit(**f, limit=size, after=sl.after)
        a["pager"] = pager("/audit", f, shown, size, sl.total, len(a["lines"].items) if sl.total else 0)
        return a

    got = p.query(read)
    chart = charts.bars([("Lines released", got["lines_released"]), ("No usable address", got["no_usable_address"]),
                         ("Potentially incomplete", got["potentially_incomplete"]), ("TIN only", got["tin_only"])],
                        "Released lines under each audit measure", unit="lines")
    return p.render("audit.html", title="Unlawful-release audit", a=got, f=f, chart=chart)
