"""Errors of the sealed store, its keys and pseudonyms.

The base class ``SealedError`` and ``OpeningMismatch`` live in the pure module
``ledger.core.commitments`` (the court's verifier raises them without this package);
they are re-exported here. No message contains a TIN, a committed value or a key.
"""

from __future__ import annotations

from ledger.core.commitments import CommitmentFormatError, OpeningMismatch, SealedError

__all__ = [
    "CommitmentFormatError",
    "EscrowError",
    "OpeningMismatch",
    "OpeningNotFound",
    "SealedDecryptionError",
    "SealedError",
    "SealedKeyError",
    "SealedStoreError",
    "TinFormatError",
]


class SealedKeyError(SealedError):
    """A sealed-store or pseudonym key that is missing, malformed, too short or not this database's."""


class TinFormatError(SealedError):
    """Text that is not a TIN: after removing spaces and hyphens, not exactly 9 ASCII digits."""


class EscrowError(SealedError):
    """An escrow bundle that is malformed, or a passphrase that does not open it."""


class SealedStoreError(SealedError):
    """The sealed store's database cannot be used (bad URL, schema name)."""


class OpeningNotFound(SealedStoreError):
    """No opening is stored for a commitment (never stored, or erased)."""

    def __init__(self, commitment: str) -> None:
        self.commitment = commitment
        super().__init__(f"no opening is stored for commitment {commitment}")


class SealedDecryptionError(SealedError):
    """A stored ciphertext that does not decrypt under the sealed key: wrong key or altered bytes."""

    def __init__(self, commitment: str, reason: str, what: str = "opening for commitment") -> None:
        self.commitment = commitment  # or, for a group of openings, the group's name
        super().__init__(f"{what} {commitment} cannot be decrypted: {reason}")
