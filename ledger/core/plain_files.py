"""Plain words about the verifier's input files: the kinds of file it recognises (from
ledger.core.diagnosis.file_kind), and what it says, as a usage error (exit 2), of a file given
as the wrong kind or changed outside what is signed. The rest of the wording is ledger.core.plain's.
"""

from __future__ import annotations

# ---- kinds of file --------------------------------------------------------------------
KIND_NAMES = {
    "export": "an export (JSON Lines of entries)",
    "export-line": "one line of an export",
    "entry": "a single entry",
    "checkpoint": "a checkpoint",
    "vkey": "a verifier key (a trust root)",
    "signer-key": "a private signing key (keep it secret: it is not a verifier key)",
    "statement": "a signed statement",
    "inclusion-proof": "an inclusion proof",
    "consistency-proof": "a consistency proof",
    "bundle-json": "an evidence bundle's bundle.json",
    "bundle-proofs": "an evidence bundle's proofs.jsonl",
    "bundle-openings": "an evidence bundle's openings.jsonl",
    "bundle-entries": "an evidence bundle's entries.jsonl",
    "bundle": "an evidence bundle folder",
    "folder": "a folder",
    "report": "a verification report",
    "decoded": "a decoded companion of an export (a reading aid, not the export)",
    "empty": "an empty file",
    "policy": "a witness policy (c2sp.org/tlog-policy)",
}


def wrong_kind(flag: str, path: str, kind: str, wanted: str) -> str:
    """The usage error for a file of the wrong kind: what it is, what was expected, what to do."""
    what = "folder" if kind in ("bundle", "folder") else "file"
    text = f"the {what} given as {flag} ({path}) is {KIND_NAMES[kind]}, not {KIND_NAMES[wanted]}"
    hint = _WRONG_KIND_HINTS.get((flag, kind))
    if hint is None and kind == "bundle":
        hint = f"check an evidence bundle with --bundle {path}"
    if hint is None and kind == "bundle-entries":
        hint = "check an evidence bundle with --bundle FOLDER"
    return f"{text}: {hint}" if hint else text


_WRONG_KIND_HINTS = {
    ("--checkpoint", "export"): "were --checkpoint and --export swapped?",
    ("--export", "checkpoint"): "were --checkpoint and --export swapped?",
    ("--vkey", "checkpoint"): "--vkey takes the ledger's published verifier key (one line: name+id+key)",
    ("--checkpoint", "vkey"): "were --vkey and --checkpoint swapped?",
    ("--entry", "export"): "give the entry's line alone, or what `disclosure-ledger entry N` prints",
    ("--inclusion-proof", "consistency-proof"): "give it with --previous-checkpoint and --consistency-proof",
    ("--consistency-proof", "inclusion-proof"): "give it with --inclusion-proof and --entry",
}


DAMAGE = {
    "crlf": "has Windows line endings (CRLF): it was re-saved by an editor",
    "bom": "starts with a byte order mark (BOM): it was re-saved by an editor",
    "no-final-newline": "lacks the newline that ends its last line: it was edited",
    "extra-line": "has an extra line after its signatures ({where}): it was edited",
}


def altered_file(flag: str, path: str, damage: str, line: int | None = None, text: str | None = None) -> str:
    """The usage error for a file of the right kind changed outside what is signed (DAMAGE's keys)."""
    where = f"line {line}, empty" if not text else f"line {line}: {text[:40]!r}"
    return f"the file given as {flag} ({path}) {DAMAGE[damage].format(where=where)}; use the file the ledger wrote"
