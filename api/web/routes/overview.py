"""The overview (the log, its latest checkpoint, red flags, pending requests, blocked attempts),
the checkpoints in pages, and the trust root."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi.responses import Response

from api.web.data import log_verified, web_data
from api.web.pages import READERS, Page, page, web_router
from api.web.params import page_args, pager, slot
from projections import overview as overview_reads

router = web_router()


def age(signed_at: str | None) -> str:
    """How long ago ``signed_at`` (UTC, ISO 8601) was, in its largest unit."""
    if not signed_at:
        return "unknown"
    try:
        then = datetime.strptime(signed_at[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return "unknown"
    seconds = int((datetime.now(UTC) - then).total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{max(seconds, 0)} seconds"


@router.get("/")
def overview(p: Annotated[Page, page("/")]) -> Response:
    latest = p.state.ledger.latest_checkpoint()
    verified, verified_size = log_verified(web_data(p.request, p.state), p.state)
    number, size = page_args(p)

    def read(q: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"checkpoints": q.checkpoints(limit=1).items}
        if p.session.principal.role in READERS:
            out["flags"] = q.red_flag_counts()
            out["recent_flags"] = overview_reads.recent_red_flags(q.views)
            out["pending"] = overview_reads.pending_requests(q.views)
            sl, shown = slot(q, "blocked", number, size, {})
            out["blocked"] = q.blocked(limit=size, after=sl.after).items if sl.total else []
            out["blocked_pager"] = pager("/", {}, shown, size, sl.total, len(out["blocked"]))
        return out

    got = p.query(read)
    signed_at = got["checkpoints"][0]["signed_at"] if got["checkpoints"] else None
    return p.render("overview.html", title="Overview", size=p.state.ledger.size(),
                    latest=latest, root_hex=latest.checkpoint.root.hex() if latest else None,
                    signed_at=signed_at, age=age(signed_at), verified=verified, verified_size=verified_size,
                    witnesses=p.state.ledger.publisher.status().describe(), **got)


@router.get("/checkpoints")
def checkpoints(p: Annotated[Page, page("/checkpoints")]) -> Response:
    number, size = page_args(p)

    def read(q: Any) -> dict[str, Any]:
        sl, shown = slot(q, "checkpoints", number, size, {})
        items = q.checkpoints(limit=size, after=sl.after).items if sl.total else []
        return {"checkpoints": items, "pager": pager("/checkpoints", {}, shown, size, sl.total, len(items))}

    got = p.query(read)
    latest = p.state.ledger.latest_checkpoint()
    for c in got["checkpoints"]:
        c["age"] = age(c.get("signed_at"))
    return p.render("checkpoints.html", title="Checkpoints", note=latest.encode() if latest else None, **got)


@router.get("/trust")
def trust(p: Annotated[Page, page("/trust")]) -> Response:
    return p.render("trust.html", title="Trust root", served=p.state.ledger.trust_root())
