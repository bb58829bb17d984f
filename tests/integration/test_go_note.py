"""Interoperability: Go's golang.org/x/mod/sumdb/note (code nobody on this project wrote)
opens the statements and checkpoints we sign, refuses tampered ones, and signs notes
that we verify, byte for byte the same as ours. For witnesses: Go opens cosigned
checkpoints under the log key alone (cosignature lines ignored), verifies cosignature/v1
lines (a note.Verifier over crypto/ed25519), follows the signature-line table, and checks
our add-checkpoint proofs with golang.org/x/mod/sumdb/tlog's CheckTree.

Needs `go` and the x/mod source (Debian: golang-go, golang-golang-x-mod-dev). Without
them the tests skip, unless LEDGER_TEST_REQUIRE_GO=1 (as in CI), which makes them fail.
The checker (go_note_check/main.go) is built offline in GOPATH mode into a temporary
directory; LEDGER_TEST_GOPATH overrides where x/mod is looked for.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from corebuild import ORIGIN, REQUESTER_NAME, LogBuilder, flip_signature_bit, key

from ledger.core.checkpoint import Checkpoint, sign_checkpoint
from ledger.core.keys import SignerKey, VerifierKey
from ledger.core.note import parse_note, sign_note, verify_by, verify_exactly
from ledger.core.statement import parse_statement

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "go_note_check" / "main.go"
VECTORS = HERE.parent / "vectors" / "rfc6962.json"
GOPATH = os.environ.get("LEDGER_TEST_GOPATH", "/usr/share/gocode")
NOTE_PACKAGE = Path(GOPATH) / "src" / "golang.org" / "x" / "mod" / "sumdb" / "note"


def _missing() -> str | None:
    if shutil.which("go") is None:
        return "the go command is not installed (Debian package golang-go)"
    if not NOTE_PACKAGE.is_dir():
        return f"golang.org/x/mod source is not at {NOTE_PACKAGE} (Debian package golang-golang-x-mod-dev)"
    return None


@pytest.fixture(scope="module")
def go_note_check(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checker, built from go_note_check/main.go against the local x/mod source."""
    missing = _missing()
    if missing is not None:
        if os.environ.get("LEDGER_TEST_REQUIRE_GO") == "1":
            pytest.fail(f"LEDGER_TEST_REQUIRE_GO=1 but {missing}")
        pytest.skip(missing)
    out = tmp_path_factory.mktemp("go_note_check")
    binary = out / "go_note_check"
    env = {
        **os.environ,
        "GO111MODULE": "off",  # GOPATH mode: Debian's x/mod source, no module download
        "GOPATH": GOPATH,
        "GOFLAGS": "",
        "GOENV": "off",
        "GOPROXY": "off",
        "GOTOOLCHAIN": "local",
        "GOCACHE": str(out / "cache"),
        "CGO_ENABLED": "0",
    }
    go = shutil.which("go")
    assert go is not None
    build = subprocess.run(
        [go, "build", "-o", str(binary), str(SOURCE)],
        cwd=out, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    if build.returncode != 0:
        pytest.fail(f"go build of {SOURCE} failed:\n{build.stderr}")
    return binary


class GoResult:
    """What go_note_check open said: verdict, verified and unverified (name, keyhash), text."""

    def __init__(self, proc: subprocess.CompletedProcess[str]) -> None:
        assert proc.returncode in (0, 1), proc.stderr
        self.accepted = proc.returncode == 0
        self.stderr = proc.stderr
        lines = [line.split(" ") for line in proc.stdout.splitlines()]
        self.verified = [(name, int(h, 16)) for kind, name, h in (x for x in lines if x[0] == "verified")]
        self.unverified = [(name, int(h, 16)) for kind, name, h in (x for x in lines if x[0] == "unverified")]
        texts = [base64.b64decode(x[1]).decode("utf-8") for x in lines if x[0] == "text"]
        self.text = texts[0] if texts else None


def go_open(binary: Path, tmp_path: Path, note: str, keys: Sequence[VerifierKey | str]) -> GoResult:
    note_file = tmp_path / "note"
    note_file.write_bytes(note.encode("utf-8"))
    key_files = []
    for i, k in enumerate(keys):
        path = tmp_path / f"vkey{i}"
        path.write_text(str(k) + "\n", "utf-8")
        key_files.append(str(path))
    proc = subprocess.run(
        [str(binary), "open", str(note_file), *key_files],
        capture_output=True, text=True, timeout=60, check=False,
    )
    return GoResult(proc)


def go_sign(binary: Path, tmp_path: Path, text: str, keys: Sequence[SignerKey]) -> str:
    text_file = tmp_path / "text"
    text_file.write_bytes(text.encode("utf-8"))
    key_files = []
    for i, k in enumerate(keys):
        path = tmp_path / f"skey{i}"
        path.write_text(k.to_string() + "\n", "utf-8")
        key_files.append(str(path))
    proc = subprocess.run(
        [str(binary), "sign", str(text_file), *key_files],
        capture_output=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.decode("utf-8")


def ident(k: SignerKey) -> tuple[str, int]:
    return k.name, k.verifier.key_id


@pytest.fixture(scope="module")
def statements() -> dict[str, tuple[str, list[SignerKey]]]:
    """Real statements from a small log, each with the keys that signed it."""
    log = LogBuilder()
    genesis = log.genesis()
    log.append(genesis)
    requester = key(REQUESTER_NAME)
    registration = log.registration(requester, ["requester"])
    log.append(registration)
    memo = log.memo(requester, "Ünïcødé, \"quotes\", \\backslash\\ and — dashes")
    log.append(memo)
    return {
        "genesis": (genesis, [log.statement_key]),
        "key_registration": (registration, [log.admin, requester]),
        "memo": (memo, [requester]),
    }


@pytest.mark.parametrize("name", ["genesis", "key_registration", "memo"])
def test_go_verifies_each_signer_of_a_statement(
    go_note_check: Path, tmp_path: Path, statements: dict[str, tuple[str, list[SignerKey]]], name: str
) -> None:
    """Go opens our statement with each signer's key alone (the others stay unverified) and with all."""
    raw, signers = statements[name]
    text = parse_statement(raw).note.text
    for signer in signers:
        result = go_open(go_note_check, tmp_path, raw, [signer.verifier])
        assert result.accepted, result.stderr
        assert result.verified == [ident(signer)]
        assert sorted(result.unverified) == sorted(ident(k) for k in signers if k is not signer)
        assert result.text == text
    everyone = go_open(go_note_check, tmp_path, raw, [k.verifier for k in signers])
    assert everyone.accepted
    assert sorted(everyone.verified) == sorted(ident(k) for k in signers)
    assert everyone.unverified == []


def test_go_verifies_a_checkpoint(go_note_check: Path, tmp_path: Path) -> None:
    """Go opens our signed checkpoint with the checkpoint key and sees exactly its three lines."""
    log = LogBuilder().start()
    signed = log.checkpoint()
    result = go_open(go_note_check, tmp_path, signed.encode(), [log.checkpoint_key.verifier])
    assert result.accepted, result.stderr
    assert result.verified == [ident(log.checkpoint_key)]
    assert result.text == f"{ORIGIN}\n1\n{base64.b64encode(log.root()).decode()}\n"


def test_go_verifies_a_checkpoint_signed_during_key_overlap(go_note_check: Path, tmp_path: Path) -> None:
    """A checkpoint signed by the old and the new checkpoint key verifies under each in Go."""
    old, new = key(ORIGIN), key(ORIGIN, 1)
    signed = sign_checkpoint(Checkpoint(ORIGIN, 7, b"\x07" * 32), [old, new]).encode()
    for k in (old, new):
        result = go_open(go_note_check, tmp_path, signed, [k.verifier])
        assert result.accepted, result.stderr
        assert result.verified == [ident(k)]


def test_go_rejects_tampered_statement_text(
    go_note_check: Path, tmp_path: Path, statements: dict[str, tuple[str, list[SignerKey]]]
) -> None:
    """A statement whose text was changed by one character is rejected by Go."""
    raw, signers = statements["memo"]
    tampered = raw.replace('"type":"memo"', '"type":"meme"')
    assert tampered != raw
    result = go_open(go_note_check, tmp_path, tampered, [signers[0].verifier])
    assert not result.accepted
    assert "invalid signature" in result.stderr


def test_go_rejects_a_flipped_signature_bit(
    go_note_check: Path, tmp_path: Path, statements: dict[str, tuple[str, list[SignerKey]]]
) -> None:
    """A statement with one flipped signature bit is rejected by Go for that signer."""
    raw, signers = statements["key_registration"]
    tampered = flip_signature_bit(raw, line=1, bit=200)
    result = go_open(go_note_check, tmp_path, tampered, [signers[1].verifier])
    assert not result.accepted
    assert "invalid signature" in result.stderr


def test_go_rejects_a_tampered_checkpoint(go_note_check: Path, tmp_path: Path) -> None:
    """A checkpoint whose tree size was changed is rejected by Go."""
    log = LogBuilder().start()
    tampered = log.checkpoint().encode().replace(f"{ORIGIN}\n1\n", f"{ORIGIN}\n2\n", 1)
    result = go_open(go_note_check, tmp_path, tampered, [log.checkpoint_key.verifier])
    assert not result.accepted


def test_go_rejects_a_note_signed_by_another_key(go_note_check: Path, tmp_path: Path) -> None:
    """A checkpoint signed by another key of the same name is not verified by Go."""
    impostor = key(ORIGIN, 9)
    signed = sign_checkpoint(Checkpoint(ORIGIN, 1, b"\x01" * 32), [impostor]).encode()
    result = go_open(go_note_check, tmp_path, signed, [key(ORIGIN).verifier])
    assert not result.accepted
    assert "no verifiable signatures" in result.stderr


def test_go_signs_exactly_what_we_sign(go_note_check: Path, tmp_path: Path) -> None:
    """Go's note.Sign with our signer-key strings gives byte-identical notes that we verify."""
    a, b = key("irs.gov/alice"), key("irs.gov/bob")
    text = '{"body":{"text":"é"},"v":1}\n'
    from_go = go_sign(go_note_check, tmp_path, text, [a, b])
    assert from_go == sign_note(text, [a, b]).encode()
    note = parse_note(from_go)
    verify_exactly(note, [a.verifier, b.verifier])


def test_go_signed_statement_is_accepted_here(
    go_note_check: Path, tmp_path: Path, statements: dict[str, tuple[str, list[SignerKey]]]
) -> None:
    """A statement text signed by Go with the signers' keys parses and verifies as our statement."""
    raw, signers = statements["key_registration"]
    text = parse_statement(raw).note.text
    from_go = go_sign(go_note_check, tmp_path, text, signers)
    stmt = parse_statement(from_go)
    verify_exactly(stmt.note, [k.verifier for k in signers])
    assert stmt.raw == raw


def test_go_accepts_the_c2sp_example(go_note_check: Path, tmp_path: Path) -> None:
    """The C2SP signed-note example verifies in Go as it does here (the harness itself works)."""
    example = json.loads(VECTORS.read_text("utf-8"))["signed_note_example"]
    result = go_open(go_note_check, tmp_path, example["note"], [example["vkey"]])
    assert result.accepted, result.stderr
    assert result.verified == [("example.com/foo", 0x530D903A)]
    verify_by(parse_note(example["note"]), VerifierKey("example.com/foo", _public(example["vkey"])))


def _public(vkey: str) -> bytes:
    return base64.b64decode(vkey.split("+", 2)[2])[1:]


# ---- witnesses: cosigned checkpoints, cosignature/v1, add-checkpoint ---------------------------
VECTOR_DIR = HERE.parent / "vectors"
COSIGNATURES = json.loads((VECTOR_DIR / "cosignature-v1.json").read_text("utf-8"))["vectors"]
LINES_TABLE = json.loads((VECTOR_DIR / "note-signature-lines.json").read_text("utf-8"))


def go_run(binary: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=60, check=False)


def _write(tmp_path: Path, name: str, data: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return str(path)


@pytest.mark.parametrize("vector", COSIGNATURES, ids=lambda v: v["desc"])
def test_go_opens_cosigned_checkpoints_with_the_log_key_alone(go_note_check: Path, tmp_path: Path,
                                                              vector: dict[str, object]) -> None:
    """Each cosigned vector note verifies in Go's sumdb/note under the log key, the three cosignature
    lines reported unverified (ignored as unknown keys)."""
    result = go_open(go_note_check, tmp_path, str(vector["cosigned_note"]), [str(vector["log_vkey"])])
    assert result.accepted, result.stderr
    assert [n for n, _ in result.verified] == ["example.gov/disclosures/test-log"]
    assert len(result.unverified) == 3


@pytest.mark.parametrize("vector", COSIGNATURES, ids=lambda v: v["desc"])
def test_go_verifies_the_vectors_cosignatures(go_note_check: Path, tmp_path: Path, vector: dict[str, object]) -> None:
    """Go's note.Open with a cosignature/v1 verifier (crypto/ed25519 over the spec's message) verifies
    every witness line with the vector's timestamp: the harness agrees with the vectors."""
    cosigs = vector["cosignatures"]
    assert isinstance(cosigs, list)
    keys = [_write(tmp_path, f"k{i}", str(c["vkey"]) + "\n") for i, c in enumerate(cosigs)]
    proc = go_run(go_note_check, "cosigned", _write(tmp_path, "note", str(vector["cosigned_note"])),
                  _write(tmp_path, "log", str(vector["log_vkey"]) + "\n"), *keys)
    assert proc.returncode == 0, proc.stderr
    verified = {line.split()[1]: line.split()[3:] for line in proc.stdout.splitlines() if line.startswith("verified")}
    assert {name: int(t[0]) for name, t in verified.items() if t} == {c["witness"]: c["timestamp"] for c in cosigs}


def test_go_verifies_our_witness_s_cosignature(go_note_check: Path, tmp_path: Path) -> None:
    """A checkpoint cosigned by our witness (its monitoring answer) verifies in Go under the log key alone,
    and with Go's cosignature/v1 verifier under the witness key."""
    sys.path.insert(0, str(HERE.parent / "witness"))
    from witnessfix import LOG_KEY, ORIGIN, WITNESS_KEY, Log, make_witness

    from ledger.core.witness_protocol import origin_hash

    witness = make_witness(f"sqlite:///{tmp_path}/w.sqlite3", clock=1_780_000_000.0)
    assert witness.add_checkpoint(Log().grow(11).request(0)).status == 200
    served = witness.latest(origin_hash(ORIGIN)).body.decode()
    alone = go_open(go_note_check, tmp_path, served, [LOG_KEY.verifier])
    assert alone.accepted and alone.unverified == [(WITNESS_KEY.name, WITNESS_KEY.verifier.key_id)]
    proc = go_run(go_note_check, "cosigned", _write(tmp_path, "note", served),
                  _write(tmp_path, "log", str(LOG_KEY.verifier) + "\n"),
                  _write(tmp_path, "w", str(WITNESS_KEY.verifier) + "\n"))
    assert proc.returncode == 0, proc.stderr
    assert f"verified {WITNESS_KEY.name} {WITNESS_KEY.verifier.key_id:08x} 1780000000" in proc.stdout


@pytest.mark.parametrize("case", LINES_TABLE["cases"], ids=lambda c: c["name"])
def test_go_on_the_signature_line_table(go_note_check: Path, tmp_path: Path, case: dict[str, object]) -> None:
    """Go's note.Open with the log key does what the table's `go` column says (where it differs from
    `expect`, the table says why this project is stricter)."""
    lines: list[str] = []
    for item in case["lines"]:  # type: ignore[attr-defined]
        lines += [item["line"]] * item["times"] if isinstance(item, dict) else [item]
    note = LINES_TABLE["text"] + "\n" + "".join(x + "\n" for x in lines)
    result = go_open(go_note_check, tmp_path, note, [LINES_TABLE["log_vkey"]])
    assert ("accept" if result.accepted else "refuse") == case["go"], result.stderr


@pytest.mark.parametrize("probe", json.loads(VECTORS.read_text("utf-8"))["consistency_happy_path"],
                         ids=lambda p: f"{p['first']}-{p['second']}")
def test_add_checkpoint_body_for_the_rfc6962_tree(go_note_check: Path, tmp_path: Path,
                                                  probe: dict[str, object]) -> None:
    """For the RFC 6962 test tree (transparency-dev/merkle's leaves), our add-checkpoint body from size
    `first` to `second` is exactly 'old N', the vector's proof hashes in base64 one per line, an empty
    line and the checkpoint; Go parses it, opens the checkpoint and tlog.CheckTree accepts the proof
    from the vector's first root. One flipped proof bit makes Go refuse it."""
    from ledger.core.merkle import root_from_leaf_hashes
    from ledger.core.proofs import consistency_path
    from ledger.core.witness_protocol import AddCheckpoint

    vectors = json.loads(VECTORS.read_text("utf-8"))
    leaves = [bytes.fromhex(h) for h in vectors["leaf_hashes"]]
    first, second = int(probe["first"]), int(probe["second"])  # type: ignore[call-overload]
    log_key = key("log.example/rfc6962")
    root = root_from_leaf_hashes(leaves[:second])
    assert root.hex() == probe["second_hash"]
    checkpoint = sign_checkpoint(Checkpoint(log_key.name, second, root), [log_key]).encode()
    proof = consistency_path(first, second, lambda a, b: root_from_leaf_hashes(leaves[a:b]))
    body = AddCheckpoint(first, tuple(proof), checkpoint).encode()
    expected = "".join([f"old {first}\n", *(base64.b64encode(bytes.fromhex(str(h))).decode() + "\n"
                                            for h in probe["consistency_path"]), "\n", checkpoint])  # type: ignore[attr-defined]
    assert body.decode() == expected
    old_root = base64.b64encode(bytes.fromhex(str(probe["first_hash"]))).decode()
    vkey = _write(tmp_path, "vkey", str(log_key.verifier) + "\n")
    proc = go_run(go_note_check, "addcheckpoint", _write(tmp_path, "body", body), old_root, vkey)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["ok", str(first), str(second), str(len(proof))]
    if proof:
        flipped = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
        tampered = AddCheckpoint(first, tuple(flipped), checkpoint).encode()
        bad = go_run(go_note_check, "addcheckpoint", _write(tmp_path, "bad", tampered), old_root, vkey)
        assert bad.returncode == 1 and "tlog.CheckTree" in bad.stderr
