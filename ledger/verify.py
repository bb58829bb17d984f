"""Verification of a whole log, entry by entry, from the entry bytes alone.

Shared by ``disclosure-ledger verify`` (on the stored log) and the court's script
(on an export). Every check is on; signatures can be deferred to a pool of workers
(``defer_signatures``) and are then checked by ``check_deferred``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ledger.entry import ZERO_HASH_HEX, Entry, parse_entry
from ledger.errors import LedgerError, VerificationError
from ledger.keys import VerifierKey
from ledger.merkle import Frontier
from ledger.statement import Statement, parse_statement
from ledger.trust import TrustState


@dataclass
class DeferredSignatures:
    """Signature checks collected for a range of entries: (index, note text, [(name, key_id, pub)])."""

    items: list[tuple[int, str, list[tuple[str, bytes]]]] = field(default_factory=list)


class LogVerifier:
    """Feed entries in order; every structural, chain, time and trust check runs as they arrive."""

    def __init__(self, *, defer_signatures: bool = False) -> None:
        self.trust = TrustState()
        self.frontier = Frontier()
        self.prev_hex = ZERO_HASH_HEX
        self.last_recorded_at: str | None = None
        self.defer = defer_signatures
        self.deferred = DeferredSignatures()
        # Receives (level, position, hash) of every tree node completed; fsck compares stored nodes.
        self.on_node: Callable[[int, int, bytes], None] | None = None

    @property
    def size(self) -> int:
        return self.frontier.size

    def root(self) -> bytes:
        return self.frontier.root()

    def add(self, data: bytes, index: int | None = None) -> Entry:
        """Check one entry's bytes as the next entry; raise VerificationError naming it."""
        expected = self.size
        if index is not None and index != expected:
            raise VerificationError("index out of sequence", expected, expected, index)
        try:
            entry = parse_entry(data)
        except LedgerError as e:
            raise VerificationError(f"malformed entry: {e}", expected) from None
        if entry.index != expected:
            raise VerificationError("entry index out of sequence", expected, expected, entry.index)
        if entry.prev != self.prev_hex:
            raise VerificationError("prev does not link to the previous entry", expected, self.prev_hex, entry.prev)
        if self.last_recorded_at is not None and entry.recorded_at < self.last_recorded_at:
            raise VerificationError(
                "recorded_at decreases", expected, f">= {self.last_recorded_at}", entry.recorded_at
            )
        try:
            stmt = parse_statement(entry.statement)
        except LedgerError as e:
            raise VerificationError(f"malformed statement: {e}", expected) from None
        self.admit(stmt, expected, entry.recorded_at)
        self.frontier.append(entry.leaf_hash, self.on_node)
        self.prev_hex = entry.leaf_hash.hex()
        self.last_recorded_at = entry.recorded_at
        return entry

    def admit(self, stmt: Statement, index: int, recorded_at: str) -> None:
        try:
            keys = self.trust.authorize(stmt, index, recorded_at)
            if self.defer:
                self.deferred.items.append(
                    (index, stmt.raw, [(k.name, k.public_key) for k in keys])
                )
            else:
                self.trust.check_signatures(stmt, keys)
            self.trust.apply(stmt, index)
        except VerificationError:
            raise
        except LedgerError as e:
            rule = getattr(e, "rule", None)
            reason = f"{rule}: {e}" if rule else str(e)
            raise VerificationError(reason, index) from None


def check_deferred(items: list[tuple[int, str, list[tuple[str, bytes]]]]) -> tuple[int, str] | None:
    """Check deferred signatures; return (index, reason) of the first failure, else None."""
    for index, raw, keys in items:
        try:
            stmt = parse_statement(raw)
            TrustState.check_signatures(stmt, [VerifierKey(n, p) for n, p in keys])
        except LedgerError as e:
            return index, f"signature: {e}"
    return None
