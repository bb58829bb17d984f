"""Signing checkpoints: never two inconsistent ones.

The last signed checkpoint is also kept in a file outside the database; before
signing, the ledger proves the new tree extends it. A restored older database
(smaller, or with a different history) is refused here. The caller holds the
publisher lease (ledger.store.lease), so two signers never race for the file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from ledger.core.checkpoint import Checkpoint, SignedCheckpoint, open_with_any, sign_checkpoint
from ledger.core.errors import LedgerError
from ledger.core.keys import SignerKey, VerifierKey
from ledger.store.errors import CheckpointRefused
from ledger.store.service_keys import write_secret


class CheckpointKeeper:
    def __init__(self, path: Path, keys: Sequence[SignerKey]) -> None:
        self.path = path
        self.keys = tuple(keys)

    def last_size(self) -> int:
        """Size of the last checkpoint signed (0 if none): the log may never be shorter."""
        last = self.last_signed()
        return last.checkpoint.size if last else 0

    def last_signed(self) -> SignedCheckpoint | None:
        """The checkpoint in the outside file, verified with one of our checkpoint keys."""
        try:
            data = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            return open_with_any(data, [k.verifier for k in self.keys])
        except LedgerError as e:
            raise CheckpointRefused(f"the outside checkpoint file {self.path} does not verify: {e}") from None

    def sign(
        self, size: int, root_at: Callable[[int], bytes], origin: str, store: Callable[[SignedCheckpoint], None],
        *, resign: bool = False,
    ) -> SignedCheckpoint:
        """Sign (origin, size, root_at(size)) if it extends the last signed checkpoint; then store it.

        The caller holds the publisher lease."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        last = self.last_signed()
        if last is not None:
            old = last.checkpoint
            if old.origin != origin:
                raise CheckpointRefused(f"last checkpoint is for {old.origin!r}, not {origin!r}")
            if old.size > size:
                raise CheckpointRefused(
                    f"the log has {size} entries but checkpoint {old.size} was already signed: "
                    "a restored older database? restore the missing entries first"
                )
            if root_at(old.size) != old.root:
                raise CheckpointRefused(
                    f"the log's root at size {old.size} differs from the signed checkpoint's: "
                    "the history was changed"
                )
            if old.size == size and not resign:
                store(last)
                return last
        signed = sign_checkpoint(Checkpoint(origin, size, root_at(size)), self.keys)
        store(signed)
        write_secret(self.path, signed.encode())
        return signed


def against_outside_copy(path: Path, keys: Sequence[VerifierKey], size: int,
                         root_at: Callable[[int], bytes]) -> str | None:
    """What is wrong with a log of ``size`` entries against the outside checkpoint copy, if anything.

    The copy is the last checkpoint this ledger ever signed (``keys``: the log's checkpoint keys). A log
    shorter than it lost entries (a restored older database); one whose root at its size differs
    changed its history. A missing copy says nothing (a ledger that never signed one); one that does
    not verify is a problem."""
    if not path.exists():
        return None
    try:
        last = open_with_any(path.read_text(encoding="utf-8"), list(keys)).checkpoint
    except (LedgerError, OSError, UnicodeDecodeError) as e:
        return f"the outside checkpoint copy {path} does not verify under the log's checkpoint keys: {e}"
    if last.size > size:
        return (f"the log holds {size} entries but the outside checkpoint copy records {last.size} "
                "(signed by this ledger): a restored older database? restore the missing entries")
    if root_at(last.size) != last.root:
        return (f"the log's root at size {last.size} differs from the outside checkpoint copy's "
                f"(the log holds {size} entries): its history was changed")
    return None
