"""One entry of the log: the jump by number, its page, and what the page checks in the browser
(the entry's bytes, its inclusion proof and a checkpoint that covers it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from api.deps import State
from api.state import AppState
from api.web.pages import Page, headers, may, page, session_of, web_router
from api.web.params import to_int
from ledger.core.b64 import b64encode
from ledger.core.entry import parse_entry
from ledger.core.errors import LedgerError
from ledger.core.merkle import leaf_hash
from ledger.core.statement import parse_statement

MAX_INDEX = 2**53 - 1

router = web_router()
EntryPage = Annotated[Page, page("/entries")]


def _entry_index(raw: str, state: AppState) -> int | None:
    index = to_int(raw, 0, MAX_INDEX)
    return index if index is not None and index < state.ledger.size() else None


@router.get("/entries")
def entry_jump(p: EntryPage) -> Response:
    index = to_int(p.request.query_params.get("index"), 0, MAX_INDEX)
    if index is None:
        raise p.bad("index: expected an entry number")
    return headers(RedirectResponse(f"/entries/{index}", status_code=303))


@router.get("/entries/{raw}")
def entry_page(p: EntryPage, raw: str) -> Response:
    ledger = p.state.ledger
    index = _entry_index(raw, p.state)
    if index is None:
        raise p.refuse(404, "No such entry", f"The log has {ledger.size()} entries, numbered from 0.")
    data = ledger.entry(index)
    entry = parse_entry(data)
    try:
        statement = parse_statement(entry.statement)
        kind, sid = statement.type, statement.id
    except LedgerError:
        kind, sid = "unknown", None
    return p.render("entry.html", title=f"Entry {index}", index=index, entry=entry, kind=kind,
                    statement_id=sid, leaf=leaf_hash(data).hex(), size=ledger.size())


@router.get("/entries/{raw}/proof.json")
def entry_proof(request: Request, state: State, raw: str) -> Response:
    """What the page checks in the browser: the entry's bytes, its inclusion proof and the checkpoint.
    JSON, so signed out or outside the role is a 403 here, not the sign-in page."""
    session = session_of(request, state)
    if session is None or not may(session, "/entries"):
        return headers(JSONResponse({"error": "not allowed"}, status_code=403))
    index = _entry_index(raw, state)
    if index is None:
        return headers(JSONResponse({"error": "no such entry"}, status_code=404))
    try:
        signed = state.checkpoint_covering(index, state.settings.wait_timeout)
    except LedgerError:
        return headers(JSONResponse({"error": "no checkpoint covers this entry yet"}, status_code=503))
    proof = state.ledger.inclusion_proof(index, signed.checkpoint.size)
    return headers(JSONResponse({"index": index, "entry_b64": b64encode(state.ledger.entry(index)),
                                 "tree_size": proof["tree_size"], "path": proof["path"],
                                 "checkpoint": signed.encode()}))
