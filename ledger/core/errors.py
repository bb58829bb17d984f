"""One error hierarchy for the ledger: every failure is typed and says what was
expected and what was found."""

from __future__ import annotations


class LedgerError(Exception):
    """Base class of every error the ledger raises on purpose."""


class FormatError(LedgerError):
    """Bytes that do not have the form docs/FORMAT.md requires."""


class CanonicalError(FormatError):
    """A document that is not canonical JSON under the restrictions of docs/FORMAT.md § 1."""


class EncodingError(FormatError):
    """Base64 or UTF-8 that does not decode strictly."""


class KeyFormatError(FormatError):
    """A key name, verifier key or signer key that is malformed or unsafe."""


class NoteError(FormatError):
    """A signed note that is malformed."""


class StatementError(FormatError):
    """A statement envelope that breaks the format (docs/FORMAT.md)."""


class EntryError(FormatError):
    """A ledger entry that breaks the format (docs/FORMAT.md)."""


class CheckpointFormatError(FormatError):
    """A checkpoint note body that breaks the format (docs/FORMAT.md)."""


class PolicyError(FormatError):
    """A witness policy (c2sp.org/tlog-policy) that is malformed, or that this verifier cannot apply."""


class ProtocolError(FormatError):
    """A c2sp.org/tlog-witness request or answer that is malformed."""


class TimeFormatError(FormatError):
    """A time that is not YYYY-MM-DDTHH:MM:SS.ffffffZ."""


class ProofError(LedgerError):
    """A Merkle proof that is malformed or does not verify."""


class RootMismatchError(ProofError):
    """A computed root differs from the expected one."""

    def __init__(self, expected: bytes, calculated: bytes, what: str = "root") -> None:
        self.expected = expected
        self.calculated = calculated
        super().__init__(
            f"{what} mismatch: expected {expected.hex()}, calculated {calculated.hex()}"
        )


class SignatureError(LedgerError):
    """A signature that is missing, extra, by the wrong key, or invalid."""


class QuorumError(SignatureError):
    """A checkpoint whose witness cosignatures do not meet the quorum of the policy applied."""


class TrustError(LedgerError):
    """A statement the trust state refuses: unknown or revoked key, role not allowed."""

    def __init__(self, message: str, rule: str = "trust") -> None:
        self.rule = rule
        super().__init__(message)


class VerificationError(LedgerError):
    """Verification of a log failed at an index (None when not about one entry)."""

    def __init__(
        self,
        reason: str,
        index: int | None = None,
        expected: object | None = None,
        found: object | None = None,
    ) -> None:
        self.reason = reason
        self.index = index
        self.expected = expected
        self.found = found
        where = f"entry {index}: " if index is not None else ""
        detail = ""
        if expected is not None or found is not None:
            detail = f" (expected {expected!r}, found {found!r})"
        super().__init__(f"{where}{reason}{detail}")


class UnreadableInputError(LedgerError):
    """A file given to verify cannot be opened or read (a usage error, not a failed check)."""
