"""Hostile input: parsers raise only their typed errors, on random bytes and text and on mutations
of valid inputs, within bounded sizes and time; hostile statements appended through ``Ledger.append``
are refused with a clear error and change nothing (the export is byte-identical before and after).

Fuzz case counts (``max_examples`` per test) are set by FUZZ below; README "Reliability" reports them.
"""

from __future__ import annotations

import contextlib
import json
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.authoring.trust import signed
from ledger.core.b64 import b64encode
from ledger.core.canonical import canonical_bytes, parse_canonical
from ledger.core.checkpoint import Checkpoint, open_checkpoint, parse_checkpoint_text, sign_checkpoint
from ledger.core.entry import encode_entry, parse_entry
from ledger.core.errors import LedgerError
from ledger.core.export_lines import parse_export_line
from ledger.core.keys import SignerKey
from ledger.core.note import parse_note, sign_note
from ledger.core.statement import make_envelope, parse_statement
from ledger.core.times import format_time, utc_now
from ledger.domain.refusals import AppendRefused

ROOT = Path(__file__).resolve().parents[2]
for extra in (ROOT / "scripts",):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

import verify_ledger  # noqa: E402  (the standalone file courts run: its own error classes)

FUZZ = 250  # examples per fuzz test
FUZZ_SETTINGS = settings(max_examples=FUZZ, deadline=timedelta(seconds=3),
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

ORIGIN = "ledger.fuzz.example/disclosures"
_SIGNER = SignerKey.generate("ice.dhs.gov/director")
_CHECKPOINT_KEY = SignerKey.generate(ORIGIN)
VALID_NOTE = signed([_SIGNER], "request", {"lines": ["a", "b"], "n": 3, "nested": {"k": [1, True, None]}})
VALID_ENTRY = encode_entry(7, "ab" * 32, format_time(utc_now()), VALID_NOTE).data
VALID_CHECKPOINT = sign_checkpoint(Checkpoint(ORIGIN, 12, bytes(range(32))), [_CHECKPOINT_KEY]).encode()
VALID_LINE = canonical_bytes({"entry_b64": b64encode(VALID_ENTRY), "index": 0}) + b"\n"


def _mutate(data: bytes, ops: list[tuple[int, int, int]]) -> bytes:
    """Apply (kind, position, byte) edits: flip, insert, delete, truncate, duplicate a slice."""
    out = bytearray(data)
    for kind, pos, byte in ops:
        if not out:
            out.append(byte)
            continue
        i = pos % len(out)
        if kind == 0:
            out[i] ^= 1 << (byte % 8)
        elif kind == 1:
            out.insert(i, byte)
        elif kind == 2:
            del out[i]
        elif kind == 3:
            del out[i:]
        elif kind == 4:
            out[i:i] = out[i : i + 1 + byte % 16]
        else:
            out[i] = byte
    return bytes(out)


OPS = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 1 << 20), st.integers(0, 255)), min_size=1, max_size=6)
RANDOM_BYTES = st.binary(max_size=4096)
RANDOM_TEXT = st.text(max_size=2048)
# Text made of the pieces these formats are built from, so random inputs get past the first check.
PIECES = st.sampled_from(['{"', '"', ":", ",", "}", "[", "]", "\n", "\n\n", "— ", "\\", "\\u00", "1", "-1", "0",
                          "true", "null", "1.0", "1e5", "\u00e9", "e\u0301", "\ud800", " ", "\t", "v", "body",
                          "index", "prev", "statement", "entry_b64", "AAAA", "=", "+", "/", "\u2014 ",
                          "ice.dhs.gov/director", ORIGIN, "\x00", "\x7f", "\u2028"])
PIECE_TEXT = st.lists(PIECES, max_size=80).map("".join)


def only_typed(fn, data, errors=(LedgerError,)) -> None:
    with contextlib.suppress(*errors):
        fn(data)


def _export_line(line: bytes) -> None:
    parse_export_line(line, 0)


def _standalone_export_line(line: bytes) -> None:
    verify_ledger.parse_export_line(line, 0)


def _checkpoint(data: bytes | str) -> None:
    open_checkpoint(data, _CHECKPOINT_KEY.verifier)


def _checkpoint_text(data: bytes) -> None:
    parse_checkpoint_text(data.decode("utf-8", "replace"))


PARSERS = {
    "parse_statement": (parse_statement, VALID_NOTE.encode()),
    "parse_note": (parse_note, VALID_NOTE.encode()),
    "open_checkpoint": (_checkpoint, VALID_CHECKPOINT.encode()),
    "parse_checkpoint_text": (_checkpoint_text, VALID_CHECKPOINT.split("\n\n")[0].encode() + b"\n"),
    "parse_entry": (parse_entry, VALID_ENTRY),
    "parse_canonical": (parse_canonical, VALID_ENTRY),
    "verifier parse_export_line": (_export_line, VALID_LINE),
}


def test_valid_samples_parse():
    """The seeds of the mutation tests are valid: mutations start from real inputs."""
    parse_statement(VALID_NOTE)
    assert open_checkpoint(VALID_CHECKPOINT, _CHECKPOINT_KEY.verifier).checkpoint.size == 12
    assert parse_entry(VALID_ENTRY).index == 7
    assert parse_export_line(VALID_LINE, 0) == VALID_ENTRY
    assert verify_ledger.parse_export_line(VALID_LINE, 0) == VALID_ENTRY


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ_SETTINGS
@given(data=RANDOM_BYTES)
def test_random_bytes(name, data):
    only_typed(PARSERS[name][0], data)


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ_SETTINGS
@given(ops=OPS)
def test_mutations_of_valid_input(name, ops):
    fn, valid = PARSERS[name]
    only_typed(fn, _mutate(valid, ops))


@pytest.mark.parametrize("name", ["parse_statement", "parse_note", "open_checkpoint"])
@FUZZ_SETTINGS
@given(text=st.one_of(RANDOM_TEXT, PIECE_TEXT))
def test_random_text(name, text):
    """str inputs (lone surrogates included) for the parsers that take str."""
    only_typed(PARSERS[name][0], text)


@FUZZ_SETTINGS
@given(text=PIECE_TEXT, ops=OPS)
def test_structured_garbage_in_entries_and_lines(text, ops):
    data = _mutate(text.encode("utf-8", "surrogatepass"), ops)
    only_typed(parse_entry, data)
    only_typed(parse_canonical, data)
    only_typed(_export_line, data + b"\n")
    only_typed(_standalone_export_line, data + b"\n", (verify_ledger.LedgerError,))


@FUZZ_SETTINGS
@given(ops=OPS)
def test_standalone_verifier_export_line_mutations(ops):
    only_typed(_standalone_export_line, _mutate(VALID_LINE, ops), (verify_ledger.LedgerError,))


@pytest.mark.parametrize("depth", [34, 1000, 20000])
def test_deep_nesting_is_a_typed_error(depth):
    doc = ("[" * depth + "]" * depth).encode()
    with pytest.raises(LedgerError):
        parse_canonical(doc)
    with pytest.raises(LedgerError):
        parse_entry(doc)


# ---- hostile statements through Ledger.append ---------------------------------------------------
def _note_from_text(text: str, keys: list[SignerKey]) -> str:
    """Sign arbitrary (possibly non-canonical) envelope text: what a hostile client can send."""
    return sign_note(text + "\n", keys).encode()


def _envelope(world, **changes) -> dict:
    env = make_envelope("request", f"hostile-{len(changes)}-{id(changes)}", [world.requester.name], {"n": 1})
    env.update(changes)
    return env


def _refused(world, note, rule=None, match=None) -> AppendRefused:
    before, counts = world.export_bytes(), world.row_counts()
    with pytest.raises(AppendRefused) as info:
        world.ledger.append(note)
    assert str(info.value), "a refusal says why"
    if rule is not None:
        assert info.value.rule == rule, (info.value.rule, str(info.value))
    if match is not None:
        assert match in str(info.value), str(info.value)
    assert world.export_bytes() == before
    assert world.row_counts() == counts
    return info.value


def test_oversized_note_refused(world):
    env = _envelope(world, body={"pad": "x" * 61_000})
    _refused(world, _note_from_text(canonical_bytes(env).decode(), [world.requester]), "statement.shape",
             "at most 60000")


def test_statement_whose_entry_exceeds_the_entry_limit_refused(world):
    """Under 60,000 bytes as a statement, over 65,535 once escaped inside the entry."""
    note = signed([world.requester], "request", {"pad": '"' * 19_000})
    assert len(note.encode()) < 60_000
    _refused(world, note, "statement.size", "at most 65535")


@pytest.mark.parametrize("depth", [40, 3000])
def test_deeply_nested_json_refused(world, depth):
    env = _envelope(world, body={"n": 1})
    text = canonical_bytes(env).decode().replace('"body":{"n":1}', '"body":' + '{"a":' * depth + "1" + "}" * depth)
    _refused(world, _note_from_text(text, [world.requester]), "statement.shape")


def test_invalid_utf8_and_lone_surrogates_refused(world):
    good = signed([world.requester], "request", {"s": "\u00e9t\u00e9"}).encode()
    bad = good.replace("\u00e9".encode(), b"\xc3\x28", 1)
    _refused(world, bad, "statement.shape", "UTF-8")
    _refused(world, signed([world.requester], "request", {"s": "x"}).replace('"x"', '"\ud800"'), "statement.shape")


def test_duplicate_json_keys_refused(world):
    env = _envelope(world)
    text = canonical_bytes(env).decode().replace('"body":{"n":1}', '"body":{"n":1,"n":1}')
    _refused(world, _note_from_text(text, [world.requester]), "statement.shape", "duplicate")
    text = canonical_bytes(env).decode()
    _refused(world, _note_from_text(text[:-1] + ',"v":1}', [world.requester]), "statement.shape")


@pytest.mark.parametrize("edit", ["space", "order", "escape", "nfd", "float", "exponent", "bigint", "bool_v"])
def test_non_canonical_encodings_refused(world, edit):
    env = _envelope(world, body={"s": "caf\u00e9", "n": 1})
    text = canonical_bytes(env).decode()
    if edit == "space":
        text = text.replace('"v":1', '"v": 1')
    elif edit == "order":
        text = json.dumps(env, ensure_ascii=False, separators=(",", ":"))  # insertion order, not sorted
        assert text != canonical_bytes(env).decode()
    elif edit == "escape":
        text = text.replace('"request"', '"\\u0072equest"')
    elif edit == "nfd":
        text = text.replace("caf\u00e9", "cafe\u0301")
    elif edit == "float":
        text = text.replace('"n":1', '"n":1.0')
    elif edit == "exponent":
        text = text.replace('"n":1', '"n":1e0')
    elif edit == "bigint":
        text = text.replace('"n":1', f'"n":{2**53}')
    else:
        text = text.replace('"v":1', '"v":true')
    _refused(world, _note_from_text(text, [world.requester]), "statement.shape")


def test_replayed_statement(world):
    """An exact resubmission returns the original index; the same id with other bytes is refused."""
    note = signed([world.requester], "request", {"n": 1}, statement_id="replay-1")
    first = world.ledger.append(note)
    before = world.export_bytes()
    again = world.ledger.append(note)
    assert (again.index, again.leaf_hash, again.duplicate) == (first.index, first.leaf_hash, True)
    assert world.ledger.append_batch([note])[0].index == first.index
    assert world.export_bytes() == before
    other = signed([world.requester], "request", {"n": 2}, statement_id="replay-1")
    _refused(world, other, "ledger.duplicate_id", "already used")


def test_future_and_far_past_timestamps_refused(world):
    future = signed([world.requester], "request", {"n": 1}, issued_at=utc_now() + timedelta(days=1))
    _refused(world, future, "trust.future", "future")
    past = signed([world.requester], "request", {"n": 1}, issued_at=utc_now() - timedelta(days=365 * 20))
    _refused(world, past, "trust.expired", "expired")
    env = make_envelope("request", "ancient", [world.requester.name], {"n": 1})
    env["issued_at"] = "0001-01-01T00:00:00.000000Z"
    env["not_after"] = "0001-01-01T01:00:00.000000Z"
    _refused(world, _note_from_text(canonical_bytes(env).decode(), [world.requester]), "trust.expired")
    env["issued_at"] = "9999-12-31T23:00:00.000000Z"
    env["not_after"] = "9999-12-31T23:59:59.999999Z"
    _refused(world, _note_from_text(canonical_bytes(env).decode(), [world.requester]), "trust.future")


def test_key_confusion_refused(world):
    """A: the requester. Signed with B's key under A's name; a key named A that is not A's; lines that
    name someone other than the listed signer; B's valid signature relabelled as A's."""
    a, b = world.requester, world.reviewer
    env = make_envelope("request", "confused-1", [a.name], {"n": 1})
    text = canonical_bytes(env).decode()
    posing = SignerKey(a.name, b.seed)  # A's name, B's key material
    _refused(world, _note_from_text(text, [posing]), None, "no signature by")
    _refused(world, _note_from_text(text, [SignerKey.generate(a.name)]), None, "no signature by")
    _refused(world, _note_from_text(text, [b]), "statement.shape", "do not match the listed signers")
    relabelled = _note_from_text(text, [b]).replace(f"\u2014 {b.name} ", f"\u2014 {a.name} ")
    _refused(world, relabelled, None, "no signature by")
    both = _note_from_text(text, [a, b])  # an extra signature line by someone not listed
    _refused(world, both, "statement.shape", "do not match the listed signers")
