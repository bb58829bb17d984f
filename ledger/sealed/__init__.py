"""Commitments, openings, pseudonyms and the sealed store (DESIGN § 6103 domain, Privacy).

Public API (internals are the submodules):

* ``commit`` / ``Opening`` / ``verify_opening`` — pure, from ``ledger.core.commitments``
  (the court's verifier imports that module directly, without SQLAlchemy);
* ``normalise_tin`` / ``pseudonym`` — taxpayer pseudonyms (``pseudonyms``);
* ``SealedKeys`` — the two operator secrets, no defaults (``keys``);
* ``escrow_bundle`` / ``restore_escrow`` — passphrase escrow of both keys (``escrow``);
* ``SealedStore`` — openings encrypted at rest in the ledger's database (``store``).
"""

from __future__ import annotations

from ledger.core.commitments import (
    COMMIT_TAG,
    SALT_SIZE,
    Opening,
    check_commitment_hex,
    commit,
    verify_opening,
)
from ledger.sealed.errors import (
    CommitmentFormatError,
    EscrowError,
    OpeningMismatch,
    OpeningNotFound,
    SealedDecryptionError,
    SealedError,
    SealedKeyError,
    SealedStoreError,
    TinFormatError,
)
from ledger.sealed.escrow import escrow_bundle, restore_escrow
from ledger.sealed.keys import SealedKeys, key_id
from ledger.sealed.pseudonyms import normalise_tin, pseudonym
from ledger.sealed.store import SealedStore, sealed_database

__all__ = [
    "COMMIT_TAG",
    "SALT_SIZE",
    "CommitmentFormatError",
    "EscrowError",
    "Opening",
    "OpeningMismatch",
    "OpeningNotFound",
    "SealedDecryptionError",
    "SealedError",
    "SealedKeyError",
    "SealedKeys",
    "SealedStore",
    "SealedStoreError",
    "TinFormatError",
    "check_commitment_hex",
    "commit",
    "escrow_bundle",
    "key_id",
    "normalise_tin",
    "pseudonym",
    "restore_escrow",
    "sealed_database",
    "verify_opening",
]
