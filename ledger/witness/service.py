"""What the witness answers to add-checkpoint and to the monitoring endpoint (c2sp.org/tlog-witness).

The checks, in the order the spec gives them: a malformed body is 400; an unknown origin 404; no
valid signature by a key the witness trusts for the origin, or a trusted key's line that fails, 403;
an old size larger than the checkpoint's 400; an old size other than the size of the latest
checkpoint this witness cosigned for the origin (0 if none) 409, with that size; a size-0 checkpoint
whose root is not the empty tree's, a proof sent with old size 0, a consistency proof that does not
lead from the witness's own root to the new one, or the same size with another root, 422. Only then
is the checkpoint cosigned, and the witness's record moved to it in the same transaction.

Every refusal of a checkpoint a trusted log key signed (400 for the old size, 409, 422) is kept with
the whole request body, its signatures included: a log that signs inconsistent trees is caught by
them. Bodies the log did not sign are not kept: anybody could send those.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from ledger.core.checkpoint import CheckpointBody, parse_checkpoint_body
from ledger.core.cosignature import CosignerSigner
from ledger.core.errors import LedgerError, ProofError, SignatureError
from ledger.core.keys import parse_vkey
from ledger.core.merkle import EMPTY_ROOT
from ledger.core.note import Note, NoteSignature, parse_note, verify_by
from ledger.core.proofs import verify_consistency
from ledger.core.witness_protocol import SIZE_CONTENT_TYPE, AddCheckpoint, parse_add_checkpoint
from ledger.witness.state import LogState, Transaction, WitnessStore

TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, body, content type."""

    status: int
    body: bytes
    content_type: str = TEXT
    sizes: str = ""  # "old N size M" of the request answered, for the service's log line

    @classmethod
    def text(cls, status: int, message: str) -> Answer:
        return cls(status, (message + "\n").encode("utf-8"))


@dataclass(frozen=True)
class _Submission:
    request: AddCheckpoint
    note: Note
    body: CheckpointBody
    log_lines: tuple[NoteSignature, ...]
    raw: bytes


class Witness:
    """A witness: one cosigner key, its database, a clock."""

    def __init__(self, signer: CosignerSigner, store: WitnessStore, clock: Callable[[], float] = time.time) -> None:
        self.signer = signer
        self.store = store
        self.clock = clock

    def add_checkpoint(self, raw: bytes) -> Answer:
        """Answer one add-checkpoint request body."""
        checked = self._check_signed(raw)
        if isinstance(checked, Answer):
            return checked
        answer = self._add(checked)
        return dataclasses.replace(answer, sizes=f"old {checked.request.old_size} size {checked.body.checkpoint.size}")

    def _add(self, checked: _Submission) -> Answer:
        request, cp = checked.request, checked.body.checkpoint
        if request.old_size > cp.size:
            with self.store.transaction() as txn:
                return self._refuse(txn, checked, 400, f"old size {request.old_size} is larger than the "
                                    f"checkpoint's size {cp.size}", None)
        with self.store.transaction(locked_origin=cp.origin) as txn:
            state = txn.state(cp.origin)
            if state is None:  # the log was removed since the keys were read
                return Answer.text(404, f"unknown log origin {cp.origin!r}")
            held = state.size if state.size is not None else 0
            if request.old_size != held:
                reason = f"old size {request.old_size} is not the size {held} this witness last cosigned"
                if state.size is not None and cp.size == state.size and cp.root != state.root:
                    reason += "; FORK: the log signed another root for the size held here"
                elif state.size is not None and cp.size < state.size:
                    reason += f"; the checkpoint (size {cp.size}) is smaller than the one held"
                self._refuse(txn, checked, 409, reason, state)
                return Answer(409, f"{held}\n".encode(), SIZE_CONTENT_TYPE)
            problem = self._inconsistency(request, cp.size, cp.root, state)
            if problem is not None:
                return self._refuse(txn, checked, 422, problem, state)
            timestamp = max(int(self.clock()), state.cosigned_at or 0, 1)
            line = self.signer.cosign(checked.note.text, timestamp)
            stored = checked.note.text + "\n" + "".join(s.line() for s in (*checked.log_lines, line))
            txn.cosigned(cp.origin, cp.size, cp.root, stored, timestamp)
        return Answer(200, line.line().encode("utf-8"))  # sent only once the transaction committed

    def _check_signed(self, raw: bytes) -> _Submission | Answer:
        """400 for a malformed body, 404 for an unknown origin, 403 unless a trusted key signed it."""
        try:
            request = parse_add_checkpoint(raw)
            note = parse_note(request.checkpoint)
            body = parse_checkpoint_body(note.text)
        except LedgerError as e:
            return Answer.text(400, f"malformed add-checkpoint request: {e}")
        state = self.store.log(body.checkpoint.origin)
        if state is None:
            return Answer.text(404, f"unknown log origin {body.checkpoint.origin!r}")
        lines = []
        for vkey in state.keys:
            key = parse_vkey(vkey)
            if not any(s.name == key.name and s.key_id == key.key_id for s in note.signatures):
                continue
            try:
                lines.append(verify_by(note, key))
            except SignatureError as e:
                return Answer.text(403, f"a signature by a key trusted for this log fails: {e}")
        if not lines:
            return Answer.text(403, "no signature by a key this witness trusts for the log")
        return _Submission(request, note, body, tuple(lines), raw)

    @staticmethod
    def _inconsistency(request: AddCheckpoint, size: int, root: bytes, state: LogState) -> str | None:
        if size == 0 and root != EMPTY_ROOT:
            return "a checkpoint of size 0 must have the empty tree's root, SHA-256 of nothing"
        if request.old_size == 0:
            return "a consistency proof from size 0 must be empty" if request.proof else None
        assert state.root is not None  # old size > 0 equals the held size, so a checkpoint is held
        try:
            verify_consistency(request.old_size, size, state.root, root, request.proof)
        except ProofError as e:
            if size == request.old_size and root != state.root:
                return f"FORK: the same size {size} as the checkpoint held here, with another root"
            return f"the consistency proof from size {request.old_size} to {size} does not verify: {e}"
        return None

    def _refuse(self, txn: Transaction, sub: _Submission, status: int, reason: str,
                state: LogState | None) -> Answer:
        cp = sub.body.checkpoint
        digest = hashlib.sha256(sub.note.text.encode("utf-8")).hexdigest()
        txn.refused(cp.origin, status, reason, sub.request.old_size, cp.size,
                    state.size if state is not None else None, digest, sub.raw)
        return Answer.text(status, reason)

    def latest(self, hashed_origin: str) -> Answer:
        """The monitoring endpoint: the latest cosigned checkpoint of the log with that origin hash."""
        state = self.store.log_by_hash(hashed_origin)
        if state is None or state.note is None:
            return Answer.text(404, "this witness has cosigned no checkpoint of that log")
        return Answer(200, state.note.encode("utf-8"))
