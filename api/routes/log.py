"""Reading the log: checkpoints, proofs and the trust root (public); entries, inclusion proofs and
the export (court and oversight only, docs/FORMAT.md § 12)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse, StreamingResponse

from api.deps import Reader, State, page_limit
from api.errors import Problem
from api.schemas import (
    CheckpointOut,
    CheckpointsOut,
    ConsistencyOut,
    EntriesOut,
    EntryOut,
    InclusionOut,
    problems,
)
from api.state import AppState
from ledger.core.b64 import b64encode
from ledger.core.canonical import canonical_bytes
from ledger.core.checkpoint import SignedCheckpoint
from ledger.core.errors import LedgerError
from ledger.core.merkle import leaf_hash
from ledger.core.witnessed import open_witnessed
from ledger.store.publisher import UNWITNESSED

MAX_INDEX = 2**53 - 1  # bigger numbers cannot be entry indices (docs/FORMAT.md § 1) and overflow SQLite
Index = Annotated[int, Query(ge=0, le=MAX_INDEX)]
TEXT = {"content": {"text/plain": {"schema": {"type": "string"}}}}

public = APIRouter(prefix="/v1", tags=["verification (public)"])
restricted = APIRouter(prefix="/v1", tags=["log contents (court, oversight)"])


def _cp(signed: SignedCheckpoint) -> CheckpointOut:
    return CheckpointOut(size=signed.checkpoint.size, root=signed.checkpoint.root.hex(), note=signed.encode())


@public.get("/checkpoint", response_class=PlainTextResponse, responses={200: TEXT, **problems(503)},
            summary="The latest signed checkpoint, a C2SP tlog-checkpoint note")
def latest_checkpoint(state: State) -> PlainTextResponse:
    latest = state.ledger.latest_checkpoint()
    if latest is None:
        raise Problem(503, "no-checkpoint", "No checkpoint signed yet", "the ledger has not signed a checkpoint")
    return PlainTextResponse(latest.encode(), headers={"Witnesses": witnesses_header(state, latest)})


def witnesses_header(state: AppState, signed: SignedCheckpoint) -> str:
    """``unwitnessed`` (no witness policy), else how many of the policy's witnesses cosigned the note."""
    policy = state.ledger.publisher.policy
    if policy is None:
        return UNWITNESSED
    try:
        witnessed = open_witnessed(signed.encode(), [k.verifier for k in state.ledger.keys.checkpoint], policy)
    except LedgerError:  # e.g. cosigned under a policy since changed: the note is served as stored
        return "cosignatures do not verify under the configured witness policy"
    return (f"cosigned by {len(witnessed.cosigned)} of {len(policy.witnesses)} witnesses; "
            f"quorum {'met' if witnessed.quorum_met else 'NOT met'}")


@public.get("/checkpoints", response_model=CheckpointsOut, responses=problems(400),
            summary="Stored checkpoints, newest first")
def checkpoint_history(state: State, limit: Annotated[int, Query(ge=1, le=MAX_INDEX)] = 100) -> CheckpointsOut:
    return CheckpointsOut(checkpoints=[_cp(c) for c in state.ledger.checkpoints(page_limit(state, limit))])


@public.get("/proofs/consistency", response_model=ConsistencyOut, responses=problems(400),
            summary="RFC 9162 consistency proof between two tree sizes")
def consistency(state: State, old: Index, new: Index | None = None) -> ConsistencyOut:
    size = state.ledger.size()
    new_size = size if new is None else new
    if not old <= new_size <= size:
        raise Problem(400, "bad-tree-size", "Tree sizes out of range",
                      f"need 0 <= old <= new <= {size} (the log's size), found old={old}, new={new_size}")
    return ConsistencyOut(**state.ledger.consistency_proof(old, new_size))


@public.get("/trust-root", response_class=PlainTextResponse, responses={200: TEXT},
            summary="The checkpoint verifier key a court pins (C2SP vkey)")
def trust_root(state: State) -> PlainTextResponse:
    return PlainTextResponse(f"{state.ledger.trust_root()}\n")


@restricted.get("/entries/{index}", response_model=EntryOut, responses=problems(401, 403, 404),
                summary="One entry's exact bytes (base64)")
def entry(state: State, _who: Reader, index: Annotated[int, Path(ge=0, le=MAX_INDEX)]) -> EntryOut:
    if index >= state.ledger.size():
        raise Problem(404, "no-such-entry", "No such entry", f"the log has no entry {index}")
    data = state.ledger.entry(index)
    return EntryOut(index=index, entry_b64=b64encode(data), leaf_hash=leaf_hash(data).hex())


@restricted.get("/entries", response_model=EntriesOut, responses=problems(400, 401, 403),
                summary="A page of entries in index order")
def entries(state: State, _who: Reader, start: Index = 0,
            limit: Annotated[int, Query(ge=1, le=MAX_INDEX)] = 100) -> EntriesOut:
    limit = page_limit(state, limit)
    page = [EntryOut(index=i, entry_b64=b64encode(d), leaf_hash=leaf_hash(d).hex())
            for i, d in state.ledger.iter_entries(start, start + limit)]
    more = bool(page) and page[-1].index + 1 < state.ledger.size()
    return EntriesOut(entries=page, next_start=page[-1].index + 1 if more else None)


@restricted.get("/proofs/inclusion", response_model=InclusionOut, responses=problems(400, 401, 403),
                summary="RFC 9162 inclusion proof of an entry in the tree of a given size")
def inclusion(state: State, _who: Reader, index: Index, size: Index | None = None) -> InclusionOut:
    log_size = state.ledger.size()
    tree_size = log_size if size is None else size
    if not index < tree_size <= log_size:
        raise Problem(400, "bad-tree-size", "Index or tree size out of range",
                      f"need 0 <= index < size <= {log_size} (the log's size), found index={index}, size={tree_size}")
    return InclusionOut(**state.ledger.inclusion_proof(index, tree_size))


@restricted.get("/export", responses={200: {"content": {"application/jsonl": {"schema": {"type": "string"}}}},
                                      **problems(401, 403)},
                response_class=StreamingResponse, summary="The export: JSON Lines, streaming (FORMAT § 12)")
def export(state: State, _who: Reader) -> StreamingResponse:
    ledger = state.ledger

    def lines() -> Iterator[bytes]:
        for index, data in ledger.iter_entries():
            yield canonical_bytes({"entry_b64": b64encode(data), "index": index}) + b"\n"

    return StreamingResponse(lines(), media_type="application/jsonl")
