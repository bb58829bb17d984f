"""Requests: the list (filters, pages) and one request in detail with its chart."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi.responses import Response

from api.web import charts
from api.web.pages import Page, page, web_router
from api.web.params import filters, page_args, pager, slot

router = web_router()
RequestsPage = Annotated[Page, page("/requests")]


@router.get("/requests")
def request_list(p: RequestsPage) -> Response:
    f = filters(p.request)
    number, size = page_args(p)

    def read(q: Any) -> dict[str, Any]:
        sl, shown = slot(q, "requests", number, size, f)
        items = q.requests(**f, limit=size, after=sl.after).items if sl.total else []
        return {"requests": items, "pager": pager("/requests", f, shown, size, sl.total, len(items))}

    return p.render("requests.html", title="Requests", f=f, **p.query(read))


@router.get("/requests/{request_id}")
def request_detail(p: RequestsPage, request_id: str) -> Response:
    got = p.query(lambda q: q.request_status(request_id))
    if got is None:
        raise p.refuse(404, "No such request", "No request with that id is in the views.")
    bars = [("Requested", got["requested"]), ("Matched", got["matched"]), ("Approved", got["approved"]),
            ("Released", got["released"]), ("Refused", got["refused"])]
    return p.render("request.html", title=f"Request {request_id}", r=got,
                    chart=charts.bars(bars, "Lines of this request at each stage", unit="lines"))
