"""Writes tests/vectors/note-signature-lines.json: the one table of the signature-line rule that the
core (ledger/core/note.py), the court's one-file verifier and the dashboard's verify.js are all tested on.

    python tests/vectors/make_signature_lines.py          # rewrite the table
    python tests/vectors/make_signature_lines.py --check  # exit 1 if the table is stale

Every case is the same checkpoint, signed by the log key of cosignature-v1.json (a key made with Go
from a fixed seed), with its signature block replaced by the case's lines. ``expect`` is what this
project's three verifiers must do when they know only that log key: ``accept`` (the note parses and
the log's signature verifies) or ``refuse``. ``go`` is what golang.org/x/mod/sumdb/note's Open does
with the same key; where it differs, ``why`` says why this project is stricter.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "note-signature-lines.json"
SOURCE = json.loads((HERE / "cosignature-v1.json").read_text("utf-8"))["vectors"][1]
NOTE = SOURCE["cosigned_note"]
TEXT, BLOCK = NOTE.split("\n\n", 1)[0] + "\n", NOTE.split("\n\n", 1)[1]
LOG_LINE, COSIG_LINE = BLOCK.split("\n")[0], BLOCK.split("\n")[1]
LOG_NAME = LOG_LINE.split(" ")[1]
LOG_BLOB = base64.b64decode(LOG_LINE.split(" ")[2])


def line(name: str, blob: bytes | str) -> str:
    text = blob if isinstance(blob, str) else base64.b64encode(blob).decode()
    return f"\u2014 {name} {text}"


def key_id(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()[:4]


def filler(n: int, seed: str) -> bytes:
    out = b""
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(f"{seed}/{counter}".encode()).digest()
        counter += 1
    return out[:n]


def unknown(name: str, n: int) -> str:
    return line(name, key_id(name) + filler(n - 4, name))


ML_DSA = line("witness.pq.example/m1", key_id("witness.pq.example/m1") + bytes(8) + filler(2420, "mldsa"))


def non_canonical(b64: str) -> str:
    """The same bytes with non-zero padding bits: the last character before '=' moved up by one."""
    assert b64.endswith("=")
    head = b64.rstrip("=")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet[alphabet.index(head[-1]) + 1]
    out = head[:-1] + last + "=" * (len(b64) - len(head))
    assert base64.b64decode(out) == base64.b64decode(b64) and out != b64
    return out


def cases() -> list[dict[str, Any]]:
    c: list[dict[str, Any]] = []

    def case(name: str, lines: list[Any], expect: str, go: str | None = None, why: str = "") -> None:
        entry: dict[str, Any] = {"name": name, "lines": lines, "expect": expect, "go": go or expect}
        if why:
            entry["why"] = why
        c.append(entry)

    # unknown keys' lines: ignored
    case("log line alone", [LOG_LINE], "accept")
    case("cosignature/v1 line (76 bytes)", [LOG_LINE, COSIG_LINE], "accept")
    case("cosignature line before the log's", [COSIG_LINE, LOG_LINE], "accept")
    case("ML-DSA-44 sized line (2432 bytes)", [LOG_LINE, ML_DSA], "accept")
    case("16 ML-DSA-44 sized lines (the spec's minimum count, post-quantum size)",
         [LOG_LINE, {"line": ML_DSA, "times": 16}], "accept")
    case("shortest unknown line (5 bytes)", [LOG_LINE, unknown("witness.example/short", 5)], "accept")
    case("unknown line of 67 bytes", [LOG_LINE, unknown("witness.example/a", 67)], "accept")
    case("unknown line of 69 bytes", [LOG_LINE, unknown("witness.example/b", 69)], "accept")
    case("non-ASCII key name", [LOG_LINE, unknown("t\u00e9moin.example/\u00e9", 76)], "accept")
    case("key name holding an em dash", [LOG_LINE, unknown("witness\u2014example", 76)], "accept")
    case("key name holding DEL (not below U+0020)", [LOG_LINE, unknown("witness\x7fexample", 76)], "accept")
    case("key name holding U+FEFF (not a Unicode space)", [LOG_LINE, unknown("witness\ufeffexample", 76)], "accept")
    case("key name holding U+200B (not a Unicode space)", [LOG_LINE, unknown("witness\u200bexample", 76)], "accept")
    case("key name holding U+180E (not a space since Unicode 6.3)", [LOG_LINE, unknown("w\u180ex", 76)], "accept")
    case("unknown line with non-zero padding bits",
         [LOG_LINE, line("witness.example/c", non_canonical(base64.b64encode(filler(76, "pad")).decode()))], "accept")
    case("the log's name with another key ID", [LOG_LINE, line(LOG_NAME, key_id("other") + filler(64, "x"))],
         "accept")
    case("the log's key ID with another name", [LOG_LINE, line("witness.example/d", LOG_BLOB[:4] + filler(64, "y"))],
         "accept")
    case("100 lines", [LOG_LINE, *[unknown(f"w{i}.example/x", 76) for i in range(99)]], "accept")
    # malformed lines: the whole note is refused
    case("101 lines", [LOG_LINE, *[unknown(f"w{i}.example/x", 76) for i in range(100)]], "refuse")
    case("note over the size cap (70 ML-DSA-44 sized lines)", [LOG_LINE, {"line": ML_DSA, "times": 70}], "refuse",
         "accept", "Go caps the number of lines (100), not the size; signed-note asks for a cap on either")
    case("4-byte signature", [LOG_LINE, unknown("witness.example/e", 4)], "refuse")
    case("empty base64", [LOG_LINE, "\u2014 witness.example/f "], "refuse")
    case("empty key name", [LOG_LINE, "\u2014  " + base64.b64encode(filler(76, "n")).decode()], "refuse")
    case("key name with '+'", [LOG_LINE, unknown("witness.example/g+h", 76)], "refuse")
    for code, label in (("\u00a0", "NO-BREAK SPACE"), ("\u0085", "NEXT LINE"), ("\u2028", "LINE SEPARATOR"),
                        ("\u3000", "IDEOGRAPHIC SPACE"), ("\u2009", "THIN SPACE"), ("\u1680", "OGHAM SPACE MARK")):
        case(f"key name holding U+{ord(code):04X} {label}", [LOG_LINE, unknown(f"w{code}x", 76)], "refuse")
    case("key name holding a tab", [LOG_LINE, unknown("w\tx", 76)], "refuse")
    case("key name holding U+0001", [LOG_LINE, unknown("w\x01x", 76)], "refuse")
    case("base64 with a character outside the alphabet", [LOG_LINE, "\u2014 witness.example/i AAAA@AAA"], "refuse")
    case("base64 without its padding", [LOG_LINE, line("witness.example/j", filler(76, "p")).rstrip("=")], "refuse")
    case("three fields", [LOG_LINE, unknown("witness.example/k", 76) + " extra"], "refuse")
    case("two spaces after the name", [LOG_LINE, unknown("witness.example/l", 76).replace("/l ", "/l  ")], "refuse")
    case("hyphen instead of em dash", [LOG_LINE, "-" + unknown("witness.example/m", 76)[1:]], "refuse")
    case("empty line among the signatures", [LOG_LINE, "", COSIG_LINE], "refuse")
    # the known key's own line stays strict
    case("no line by the known key", [COSIG_LINE], "refuse")
    case("known key's line of 76 bytes", [line(LOG_NAME, LOG_BLOB + bytes(8))], "refuse")
    case("known key's line of 67 bytes", [line(LOG_NAME, LOG_BLOB[:67])], "refuse")
    case("known key's line, one signature bit flipped",
         [line(LOG_NAME, LOG_BLOB[:40] + bytes([LOG_BLOB[40] ^ 1]) + LOG_BLOB[41:])], "refuse")
    case("known key's line with non-zero padding bits", [line(LOG_NAME, non_canonical(LOG_LINE.split(" ")[2]))],
         "refuse", "accept", "known keys' lines must be canonical base64 here; Go's decoder ignores padding bits")
    case("known key's line twice", [LOG_LINE, LOG_LINE], "refuse", "accept",
         "a known key signs once here; Go skips the repeated line")
    return c


def table() -> dict[str, Any]:
    return {
        "about": ("The signature-line rule of signed notes (c2sp.org/signed-note), one table for ledger/core/note.py, "
                  "scripts/verify_ledger.py and api/web/static/verify.js. Each case's note is `text`, a blank "
                  "line, then its `lines` (each followed by LF; an object {line, times} stands for that line "
                  "repeated). The verifier knows only `log_vkey`. expect: accept = the note parses and the "
                  "log's signature verifies; refuse = it does not. go: what golang.org/x/mod/sumdb/note Open "
                  "does. Written by tests/vectors/make_signature_lines.py from cosignature-v1.json."),
        "log_vkey": SOURCE["log_vkey"],
        "text": TEXT,
        "cases": cases(),
    }


def expand(lines: list[Any]) -> list[str]:
    out: list[str] = []
    for item in lines:
        out += [item["line"]] * item["times"] if isinstance(item, dict) else [item]
    return out


def note_of(case: dict[str, Any], text: str = TEXT) -> str:
    return text + "\n" + "".join(x + "\n" for x in expand(case["lines"]))


def main() -> int:
    text = json.dumps(table(), indent=1, ensure_ascii=True) + "\n"
    if sys.argv[1:] == ["--check"]:
        return 0 if OUT.read_text("utf-8") == text else 1
    OUT.write_text(text, "utf-8")
    print(f"wrote {OUT} ({len(table()['cases'])} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
