"""ledger.core.errors: one hierarchy, and errors that carry their evidence."""

from __future__ import annotations

import pytest

from ledger.core import errors


@pytest.mark.parametrize(
    "cls",
    [
        errors.CanonicalError,
        errors.EncodingError,
        errors.KeyFormatError,
        errors.NoteError,
        errors.StatementError,
        errors.EntryError,
        errors.CheckpointFormatError,
        errors.TimeFormatError,
    ],
)
def test_format_errors_share_a_base(cls: type[Exception]) -> None:
    """Every format error is a FormatError and a LedgerError."""
    assert issubclass(cls, errors.FormatError)
    assert issubclass(cls, errors.LedgerError)


@pytest.mark.parametrize(
    "cls",
    [errors.ProofError, errors.SignatureError, errors.TrustError, errors.VerificationError],
)
def test_other_errors_are_ledger_errors(cls: type[Exception]) -> None:
    """Proof, signature, trust and verification errors are LedgerErrors but not format errors."""
    assert issubclass(cls, errors.LedgerError)
    assert not issubclass(cls, errors.FormatError)


def test_root_mismatch_is_a_proof_error_with_evidence() -> None:
    """RootMismatchError is a ProofError that keeps both roots and names them in its message."""
    e = errors.RootMismatchError(b"\x01" * 32, b"\x02" * 32, "old root")
    assert isinstance(e, errors.ProofError)
    assert e.expected == b"\x01" * 32
    assert e.calculated == b"\x02" * 32
    assert str(e) == f"old root mismatch: expected {'01' * 32}, calculated {'02' * 32}"


def test_trust_error_carries_a_rule() -> None:
    """TrustError keeps the id of the rule that refused, defaulting to 'trust'."""
    assert errors.TrustError("no").rule == "trust"
    assert errors.TrustError("no", "trust.role").rule == "trust.role"


def test_verification_error_names_index_expected_and_found() -> None:
    """VerificationError's message starts with the entry index and ends with expected vs found."""
    e = errors.VerificationError("prev does not link", 7, "aa", "bb")
    assert (e.reason, e.index, e.expected, e.found) == ("prev does not link", 7, "aa", "bb")
    assert str(e) == "entry 7: prev does not link (expected 'aa', found 'bb')"


def test_verification_error_without_index() -> None:
    """A VerificationError about the whole log has no index prefix and no detail."""
    e = errors.VerificationError("root differs from the checkpoint")
    assert e.index is None
    assert str(e) == "root differs from the checkpoint"
