"""Reading the verifier's inputs: each file read once, listed in the report with its size and SHA-256,
and refused (exit 2) when it is of another kind than the option it was given with. The checks of
what they hold are the integrity core's (ledger.core.export_verify, ledger.core.proof_files).

This is a part of scripts/verify_ledger.py; scripts/build_verifier.py bundles it with the
integrity core (ledger/core/) and the rest of the command line into that one standalone file.
"""

from __future__ import annotations

import hashlib
import os

from _verifier_terminal import UsageError

from ledger.core.diagnosis import SNIFF_BYTES, checkpoint_damage, file_kind, folder_kind
from ledger.core.errors import LedgerError
from ledger.core.keys import VerifierKey, parse_vkey
from ledger.core.plain_files import KIND_NAMES, altered_file, wrong_kind
from ledger.core.verify_report import FileRecord, Report


# ---- reading inputs -----------------------------------------------------------------
class Inputs:
    """The verifier's files: each read once and listed in the report with its size and SHA-256,
    and refused (exit 2, saying what it looks like) when it is of another kind than the option
    it was given with, or was changed outside what is signed (an editor's line endings)."""

    def __init__(self, report: Report) -> None:
        self.report = report

    def read(self, path: str, role: str, flag: str, kinds: tuple[str, ...]) -> bytes:
        """The bytes of ``path`` given as ``flag``, which must be one of ``kinds`` (or unrecognised)."""
        self.refuse_folder(path, flag, kinds[0])
        data = _read(path, role)
        self.expect(path, flag, file_kind(data[:SNIFF_BYTES]), kinds)
        self.note(role, path, len(data), hashlib.sha256(data).hexdigest())
        return data

    def read_named(self, path: str, role: str) -> bytes:
        """The bytes of a file named by its place (an evidence bundle's), listed in the report."""
        data = _read(path, role)
        self.note(role, path, len(data), hashlib.sha256(data).hexdigest())
        return data

    def note(self, role: str, path: str, size: int, sha256: str) -> None:
        self.report.files.append(FileRecord(role, path, size, sha256))

    def refuse_folder(self, path: str, flag: str, wanted: str) -> None:
        if os.path.isdir(path):
            try:
                names = os.listdir(path)
            except OSError:
                names = []
            raise UsageError(wrong_kind(flag, path, folder_kind(names), wanted))

    def expect(self, path: str, flag: str, kind: str | None, kinds: tuple[str, ...]) -> None:
        if kind is not None and kind not in kinds:
            raise UsageError(wrong_kind(flag, path, kind, kinds[0]))

    def bundle_folder(self, path: str, flag: str = "--bundle") -> None:
        """Refuse a --bundle that is not a folder, saying what it is."""
        if os.path.isdir(path):
            return
        if not os.path.exists(path):
            raise UsageError(f"cannot read {flag} {path!r}: there is no such folder")
        try:
            with open(path, "rb") as f:
                kind = file_kind(f.read(SNIFF_BYTES))
        except OSError:
            kind = None
        if kind is None:
            raise UsageError(f"the file given as {flag} ({path}) is not {KIND_NAMES['bundle']}")
        raise UsageError(wrong_kind(flag, path, kind, "bundle"))

    def checkpoint(self, path: str, role: str, flag: str) -> bytes:
        data = self.read(path, role, flag, ("checkpoint",))
        damage = checkpoint_damage(data)
        if damage is not None:
            raise UsageError(altered_file(flag, path, *damage))
        return data

    def export_head(self, path: str) -> None:
        """Refuse an --export that is another kind of file (its first bytes are enough to tell)."""
        self.refuse_folder(path, "--export", "export")
        try:
            with open(path, "rb") as f:
                head = f.read(SNIFF_BYTES)
        except OSError as e:
            raise UsageError(f"cannot read export {path!r}: {e.strerror or e}") from None
        kind = file_kind(head)
        folder = os.path.dirname(os.path.abspath(path))
        if kind in ("export", "export-line") and os.path.basename(path) == "entries.jsonl" and os.path.exists(
            os.path.join(folder, "bundle.json")
        ):
            kind = "bundle-entries"
        if kind != "empty":
            self.expect(path, "--export", kind, ("export", "export-line"))


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise UsageError(f"cannot read {what} {path!r}: {e.strerror or e}") from None


def _trust_root(value: str, inputs: Inputs) -> VerifierKey:
    text = value
    if os.path.isfile(value):
        try:
            text = inputs.read(value, "trust root", "--vkey", ("vkey",)).decode("utf-8").strip()
        except UnicodeDecodeError:
            raise UsageError(f"trust root file {value!r} is not UTF-8 text") from None
    else:
        inputs.refuse_folder(value, "--vkey", "vkey")
    try:
        return parse_vkey(text)
    except LedgerError as e:
        raise UsageError(f"--vkey is neither a verifier key nor a file holding one: {e}") from None
