"""Re-check the stored log from its bytes: the independent checker that never writes.

Every entry is verified as a court's verifier would (chain, times, envelope, signatures,
keys, roles); the stored leaf hashes, prev column and tree nodes are compared with the
recomputed ones; every stored checkpoint must verify and match the recomputed root.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ledger.checkpoint import open_checkpoint
from ledger.errors import LedgerError, VerificationError
from ledger.verify import LogVerifier

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


def fsck(recorder: Any, progress: Callable[[int], None] | None = None) -> FsckReport:
    """Verify everything stored; stop at the first problem, naming the index."""
    report = FsckReport()
    verifier = LogVerifier()
    completed: list[bytes] = []
    verifier.on_node = lambda level, pos, h: completed.append(h) if level else None
    with recorder.reading() as db:
        checkpoints = {
            int(s): (bytes(r), n)
            for s, r, n in db.all(f"SELECT size, root, note FROM {db.t('dl_checkpoints')} ORDER BY size")
        }
    try:
        at = 0
        while True:
            with recorder.reading() as db:
                rows = db.all(
                    f"SELECT idx, prev, leaf_hash, nodes, entry FROM {db.t('dl_entries')} "
                    "WHERE idx >= %s ORDER BY idx LIMIT %s",
                    (at, PAGE),
                )
            if not rows:
                break
            for idx, prev, leaf, nodes, data in rows:
                idx = int(idx)
                if idx != verifier.size:
                    raise VerificationError("entry missing from the store", verifier.size, verifier.size, idx)
                completed.clear()
                entry = verifier.add(bytes(data), idx)
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
