"""The overview (the log, its latest checkpoint, red flags, pending requests, blocked attempts),
the checkpoints in pages, and the trust root."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi.responses import Response

from api.web.pages import READERS, Page, page, web_router
from api.web.params import page_args, pager, slot
from ledger.core.b64 import b64encode
from projections import overview as overview_reads

router = web_router()
RECENT_FLAGS = 40  # the latest red flag rows read for "Most recent" (a flag may come from the matcher and a reviewer)
RECENT_REQUESTS = 10


def flags_by_request(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The recent red flags, one item per request (newest last) with each of its flags once and
    who raised it (the matcher, a reviewer, or both)."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        item = out.setdefault(r["request_id"], {k: r[k] for k in ("request_id", "agency", "exception")}
                              | {"flags": {}, "recorded_at": r["recorded_at"], "index": r["index"]})
        item["flags"].setdefault(r["flag"], [])
        if r["source"] not in item["flags"][r["flag"]]:
            item["flags"][r["flag"]].append(r["source"])
        if r["index"] >= item["index"]:
            item["recorded_at"], item["index"] = r["recorded_at"], r["index"]
    return sorted(out.values(), key=lambda i: i["index"])[-RECENT_REQUESTS:]


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
    verified, verified_size = p.state.reads.log_verified()
    number, size = page_args(p)

    def read(q: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"checkpoints": q.checkpoints(limit=1).items}
        if p.session.principal.role in READERS:
            out["flags"] = q.red_flag_counts()
            out["recent_flags"] = flags_by_request(overview_reads.recent_red_flags(q.views, RECENT_FLAGS))
            out["pending"] = overview_reads.pending_requests(q.views)
            sl, shown = slot(q, "blocked", number, size, {})
            out["blocked"] = q.blocked(limit=size, after=sl.after).items if sl.total else []
            out["blocked_pager"] = pager("/", {}, shown, size, sl.total, len(out["blocked"]))
        return out

    got = p.query(read)
    signed_at = got["checkpoints"][0]["signed_at"] if got["checkpoints"] else None
    return p.render("overview.html", title="Overview", size=p.state.ledger.size(),
                    latest=latest, root=b64encode(latest.checkpoint.root) if latest else None,
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
    for c in got["checkpoints"]:  # roots as the signed note writes them (base64): one encoding on the page
        c["age"], c["root_b64"] = age(c.get("signed_at")), b64encode(bytes.fromhex(c["root"]))
    return p.render("checkpoints.html", title="Checkpoints", note=latest.encode() if latest else None, **got)


@router.get("/trust")
def trust(p: Annotated[Page, page("/trust")]) -> Response:
    return p.render("trust.html", title="Trust root", served=p.state.ledger.trust_root())
