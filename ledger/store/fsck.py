"""Re-check the stored log from its bytes: the independent checker that never writes.

Every entry is verified as a court's verifier would (chain, times, envelope, signatures,
keys, roles); every column stored beside an entry's bytes (leaf hash, prev, recorded_at,
statement id and type, tree nodes) is compared with what the bytes say, since the service
reads those columns (the trust replay selects entries by their stored type); the refused
statements' table must be exactly the one the `blocked` entries make; every stored
checkpoint must verify and match the recomputed root.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ledger.core.checkpoint import open_checkpoint
from ledger.core.errors import LedgerError, VerificationError
from ledger.core.verify import LogVerifier, parse_log_entry

PAGE = 2000


@dataclass
class FsckReport:
    size: int = 0
    root: bytes = b""
    checkpoints_checked: int = 0
    problems: list[VerificationError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def fsck(store: Any, progress: Callable[[int], None] | None = None) -> FsckReport:
    """Verify everything stored; stop at the first problem, naming the index."""
    report = FsckReport()
    verifier = LogVerifier()
    completed: list[bytes] = []
    refused: set[tuple[str, int, str]] = set()  # (statement id, blocked entry's index, sha256 hex)
    verifier.on_node = lambda level, pos, h: completed.append(h) if level else None
    with store.reading() as db:
        checkpoints = {
            int(s): (bytes(r), n)
            for s, r, n in db.all(f"SELECT size, root, note FROM {db.t('dl_checkpoints')} ORDER BY size")
        }
    try:
        at = 0
        while True:
            with store.reading() as db:
                rows = db.all(
                    f"SELECT idx, prev, leaf_hash, nodes, recorded_at, statement_id, stype, entry "
                    f"FROM {db.t('dl_entries')} "
                    "WHERE idx >= %s ORDER BY idx LIMIT %s",
                    (at, PAGE),
                )
            if not rows:
                break
            for idx, prev, leaf, nodes, recorded_at, statement_id, stype, data in rows:
                idx = int(idx)
                if idx != verifier.size:
                    raise VerificationError("entry missing from the store", verifier.size, verifier.size, idx)
                completed.clear()
                entry, stmt = parse_log_entry(bytes(data), idx)
                verifier.add_parsed(entry, stmt)
                assert not isinstance(stmt, str)  # add_parsed raised for a malformed statement
                for column, stored, want in (("recorded_at", recorded_at, entry.recorded_at),
                                             ("statement_id", statement_id, stmt.id), ("stype", stype, stmt.type)):
                    if stored != want:
                        raise VerificationError(f"stored {column} column differs", idx, want, str(stored))
                if stmt.type == "blocked":
                    body = stmt.envelope["body"]
                    refused.add((str(body.get("statement_id")), idx, str(body.get("statement_sha256"))))
                if bytes(leaf) != entry.leaf_hash:
                    raise VerificationError("stored leaf hash differs", idx, entry.leaf_hash.hex(), bytes(leaf).hex())
                if bytes(prev).hex() != entry.prev:
                    raise VerificationError("stored prev column differs", idx, entry.prev, bytes(prev).hex())
                if bytes(nodes) != b"".join(completed):
                    want = b"".join(completed).hex()
                    raise VerificationError("stored tree nodes differ", idx, want, bytes(nodes).hex())
                if verifier.size in checkpoints:
                    _check_checkpoint(verifier, checkpoints[verifier.size], report)
                if progress:
                    progress(1)
            at = int(rows[-1][0]) + 1
        _check_refused(store, refused)
        if report.checkpoints_checked != len(checkpoints):
            beyond = max(checkpoints) if checkpoints else 0
            raise VerificationError(
                "a stored checkpoint is larger than the log", verifier.size, verifier.size, beyond
            )
    except VerificationError as e:
        report.problems.append(e)
    report.size = verifier.size
    report.root = verifier.root()
    return report


def _check_refused(store: Any, derived: set[tuple[str, int, str]]) -> None:
    """The refused statements' table holds one row for each `blocked` entry, and nothing else: a
    row too many refuses a statement no rule refused, a row missing lets a refused one back in."""
    with store.reading() as db:
        stored = {(str(s), int(i), bytes(h).hex())
                  for s, i, h in db.all(f"SELECT statement_id, idx, sha256 FROM {db.t('dl_refused')}")}
    extra, missing = sorted(stored - derived, key=lambda r: r[1]), sorted(derived - stored, key=lambda r: r[1])
    if extra:
        raise VerificationError("a refused-statement row matches no blocked entry", None,
                                "no such row", f"statement {extra[0][0]} said refused at entry {extra[0][1]}")
    if missing:
        raise VerificationError("a blocked entry's refused-statement row is missing or altered", missing[0][1],
                                f"statement {missing[0][0]}", "no matching row")


def _check_checkpoint(verifier: LogVerifier, stored: tuple[bytes, str], report: FsckReport) -> None:
    root, note = stored
    size = verifier.size
    if root != verifier.root():
        raise VerificationError(f"stored checkpoint at size {size} has another root", size - 1,
                                verifier.root().hex(), root.hex())
    errors = []
    for key in verifier.trust.checkpoint_keys:
        try:
            cp = open_checkpoint(note, key)
        except LedgerError as e:
            errors.append(str(e))
            continue
        if cp.checkpoint.root != verifier.root() or cp.checkpoint.size != size:
            raise VerificationError(f"checkpoint note at size {size} does not match", size - 1)
        report.checkpoints_checked += 1
        return
    raise VerificationError(f"stored checkpoint at size {size} does not verify: {errors}", size - 1)
