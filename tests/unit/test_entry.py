"""ledger.core.entry: exactly JCS of {index, prev, recorded_at, statement}, at most 65,535 bytes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from corebuild import LogBuilder, key, stamp

from ledger.core.canonical import canonical_bytes
from ledger.core.entry import MAX_ENTRY_BYTES, ZERO_HASH_HEX, encode_entry, parse_entry
from ledger.core.errors import CanonicalError, EntryError, FormatError, TimeFormatError
from ledger.core.merkle import leaf_hash
from ledger.core.statement import MAX_STATEMENT_BYTES, parse_statement

PREV = "ab" * 32
WHEN = stamp(0)


def fields(**changes: Any) -> dict[str, Any]:
    value: dict[str, Any] = {"index": 3, "prev": PREV, "recorded_at": WHEN, "statement": "s\n"}
    value.update(changes)
    return value


def test_encoding_is_jcs_of_the_four_fields() -> None:
    """encode_entry writes exactly the JCS of the four fields, and the leaf hash of those bytes."""
    entry = encode_entry(3, PREV, WHEN, "s\n")
    assert entry.data == (
        b'{"index":3,"prev":"' + PREV.encode() + b'","recorded_at":"2025-08-01T12:00:00.123456Z",'
        b'"statement":"s\\n"}'
    )
    assert entry.leaf_hash == leaf_hash(entry.data)


def test_parse_round_trips() -> None:
    """parse_entry(encode_entry(...).data) gives back an equal entry with the same leaf hash."""
    entry = encode_entry(0, ZERO_HASH_HEX, WHEN, "statement\n")
    again = parse_entry(entry.data)
    assert again == entry
    assert again.leaf_hash == entry.leaf_hash


def test_zero_hash_is_64_zeros() -> None:
    """Entry 0 links to 64 zero digits."""
    assert ZERO_HASH_HEX == "0" * 64


def test_real_statement_round_trips_through_an_entry() -> None:
    """A signed statement stored in an entry comes back byte for byte."""
    log = LogBuilder()
    statement = log.genesis()
    log.append(statement)
    entry = parse_entry(log.entries[0].data)
    assert entry.statement == statement
    assert parse_statement(entry.statement).type == "genesis"


def entry_of_size(size: int) -> bytes:
    base = len(canonical_bytes(fields(statement="")))
    return canonical_bytes(fields(statement="x" * (size - base)))


def test_entry_of_exactly_65535_bytes_is_accepted() -> None:
    """An entry of exactly MAX_ENTRY_BYTES (65,535) bytes is accepted both ways."""
    assert MAX_ENTRY_BYTES == 65_535
    data = entry_of_size(MAX_ENTRY_BYTES)
    assert len(data) == MAX_ENTRY_BYTES
    entry = parse_entry(data)
    assert encode_entry(entry.index, entry.prev, entry.recorded_at, entry.statement).data == data


def test_entry_of_65536_bytes_is_refused() -> None:
    """One byte more is refused when parsing and when encoding."""
    data = entry_of_size(MAX_ENTRY_BYTES + 1)
    with pytest.raises(EntryError, match="65536 bytes"):
        parse_entry(data)
    value = json.loads(data)
    with pytest.raises(EntryError, match="65536 bytes"):
        encode_entry(value["index"], value["prev"], value["recorded_at"], value["statement"])


def test_escaping_can_push_a_valid_statement_over_the_entry_limit() -> None:
    """A statement under 60,000 bytes whose JSON escaping in the entry passes 65,535 is refused.

    Each '"' in a body string is 2 bytes in the statement and 4 in the entry, so the
    contract's 60,000-byte statement limit does not by itself guarantee a fitting entry;
    encode_entry refuses with EntryError rather than writing an oversized entry.
    """
    log = LogBuilder().start()
    requester = log.register(key("ice.dhs.gov/director"))
    statement = log.memo(requester, '"' * 25_000)
    assert len(statement.encode("utf-8")) <= MAX_STATEMENT_BYTES
    parse_statement(statement)
    with pytest.raises(EntryError, match="at most 65535"):
        encode_entry(log.size, log.entries[-1].leaf_hash.hex(), stamp(log.size), statement)


BREAKS: dict[str, Any] = {
    "missing-statement": {k: v for k, v in fields().items() if k != "statement"},
    "extra-key": fields(extra=1),
    "index-negative": fields(index=-1),
    "index-bool": fields(index=True),
    "index-string": fields(index="3"),
    "prev-uppercase": fields(prev=PREV.upper()),
    "prev-short": fields(prev=PREV[:-1]),
    "prev-long": fields(prev=PREV + "0"),
    "prev-not-hex": fields(prev="g" * 64),
    "prev-int": fields(prev=0),
    "prev-null": fields(prev=None),
    "statement-not-str": fields(statement={"v": 1}),
    "statement-null": fields(statement=None),
}


@pytest.mark.parametrize("value", BREAKS.values(), ids=BREAKS.keys())
def test_malformed_entries_are_refused(value: dict[str, Any]) -> None:
    """Wrong keys, a bad index, a prev that is not 64 lowercase hex digits, a non-string statement."""
    with pytest.raises(EntryError):
        parse_entry(canonical_bytes(value))


@pytest.mark.parametrize(
    "when", [WHEN.replace(".123456", ""), "2025-08-01T12:00:00.123456+00:00", 0]
)
def test_bad_recorded_at_is_refused(when: Any) -> None:
    """recorded_at must be a contract time string."""
    with pytest.raises(TimeFormatError):
        parse_entry(canonical_bytes(fields(recorded_at=when)))


@pytest.mark.parametrize("data", [b"[]", b'"entry"', b"3", b"null"])
def test_non_objects_are_refused(data: bytes) -> None:
    """An entry must be a JSON object."""
    with pytest.raises(EntryError):
        parse_entry(data)


def test_non_canonical_bytes_are_refused() -> None:
    """The same fields encoded with whitespace or unsorted keys are refused."""
    value = fields()
    with pytest.raises(CanonicalError):
        parse_entry(json.dumps(value).encode())
    with pytest.raises(CanonicalError):
        parse_entry(json.dumps(dict(reversed(list(value.items()))), separators=(",", ":")).encode())


def test_leaf_hash_is_of_the_stored_bytes() -> None:
    """Any change to the bytes changes the leaf hash (hashes are never of re-encoded objects)."""
    a = encode_entry(1, PREV, WHEN, "a\n")
    b = encode_entry(1, PREV, WHEN, "b\n")
    assert a.leaf_hash != b.leaf_hash


def test_parse_refuses_anything_that_is_not_a_format_error_cleanly() -> None:
    """Garbage bytes give a FormatError, never another exception."""
    for data in (b"\xff\xfe", b"{", b"", b'{"index":1.5}'):
        with pytest.raises(FormatError):
            parse_entry(data)
