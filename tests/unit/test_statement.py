"""ledger.core.statement: the envelope rules, the signed bytes, the size limit."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from corebuild import at, key

from ledger.core.canonical import canonical_bytes
from ledger.core.errors import (
    CanonicalError,
    FormatError,
    KeyFormatError,
    NoteError,
    StatementError,
    TimeFormatError,
)
from ledger.core.keys import SignerKey
from ledger.core.note import sign_note
from ledger.core.statement import (
    MAX_STATEMENT_BYTES,
    check_envelope,
    make_envelope,
    parse_statement,
    sign_statement,
)

ALICE = key("irs.gov/alice")
BOB = key("irs.gov/bob")


def envelope(**changes: Any) -> dict[str, Any]:
    env = make_envelope("memo", "id-1", ["irs.gov/alice"], {"text": "hello"}, issued_at=at(0))
    env.update(changes)
    return env


def raw_statement(env: Any, keys: list[SignerKey]) -> str:
    """Sign an envelope without any envelope check, as a careless client might."""
    return sign_note(canonical_bytes(env).decode("utf-8") + "\n", keys).encode()


def test_signed_text_is_jcs_of_envelope_plus_newline() -> None:
    """The signed note text is exactly JCS(envelope) followed by one newline."""
    env = envelope()
    stmt = parse_statement(sign_statement(env, [ALICE]))
    assert stmt.note.text == canonical_bytes(env).decode("utf-8") + "\n"
    assert stmt.note.text.startswith('{"body":{"text":"hello"},"id":"id-1","issued_at":"2025-08-01T12:00:00.123456Z"')


def test_parsed_statement_exposes_its_fields() -> None:
    """A parsed statement gives type, id, signers, body, times and the SHA-256 of its raw text."""
    raw = sign_statement(envelope(), [ALICE])
    stmt = parse_statement(raw)
    assert (stmt.type, stmt.id, stmt.signers, stmt.body) == ("memo", "id-1", ["irs.gov/alice"], {"text": "hello"})
    assert stmt.issued_at == at(0)
    assert stmt.not_after == at(3600)
    assert stmt.raw == raw
    assert stmt.sha256 == hashlib.sha256(raw.encode("utf-8")).digest()
    assert parse_statement(raw.encode("utf-8")) == stmt


def test_multiple_signers_in_any_order() -> None:
    """Signature lines may come in any order as long as each listed name signs once."""
    env = envelope(signers=["irs.gov/alice", "irs.gov/bob"])
    stmt = parse_statement(sign_statement(env, [BOB, ALICE]))
    assert [s.name for s in stmt.note.signatures] == ["irs.gov/bob", "irs.gov/alice"]


def test_make_envelope_uses_contract_times() -> None:
    """make_envelope writes issued_at and not_after in the contract's format."""
    env = make_envelope("memo", "x", ["irs.gov/a"], {}, issued_at=at(0), valid_for=timedelta(minutes=5))
    assert env["issued_at"] == "2025-08-01T12:00:00.123456Z"
    assert env["not_after"] == "2025-08-01T12:05:00.123456Z"
    assert env["v"] == 1


ENVELOPE_BREAKS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "not-an-object": lambda e: [e],
    "missing-key": lambda e: {k: v for k, v in e.items() if k != "not_after"},
    "extra-key": lambda e: {**e, "extra": 1},
    "v-2": lambda e: {**e, "v": 2},
    "v-true": lambda e: {**e, "v": True},
    "v-string": lambda e: {**e, "v": "1"},
    "type-uppercase": lambda e: {**e, "type": "Memo"},
    "type-digit-first": lambda e: {**e, "type": "1memo"},
    "type-empty": lambda e: {**e, "type": ""},
    "type-too-long": lambda e: {**e, "type": "m" * 65},
    "type-not-str": lambda e: {**e, "type": 1},
    "id-empty": lambda e: {**e, "id": ""},
    "id-leading-dash": lambda e: {**e, "id": "-abc"},
    "id-space": lambda e: {**e, "id": "a b"},
    "id-slash": lambda e: {**e, "id": "a/b"},
    "id-too-long": lambda e: {**e, "id": "a" * 129},
    "id-not-str": lambda e: {**e, "id": 7},
    "signers-empty": lambda e: {**e, "signers": []},
    "signers-not-list": lambda e: {**e, "signers": "irs.gov/alice"},
    "signers-bad-name": lambda e: {**e, "signers": ["irs.gov/a b"]},
    "signers-plus": lambda e: {**e, "signers": ["irs.gov/a+b"]},
    "signers-duplicate": lambda e: {**e, "signers": ["irs.gov/alice", "irs.gov/alice"]},
    "issued-at-isoformat": lambda e: {**e, "issued_at": at(0).isoformat()},
    "not-after-no-fraction": lambda e: {**e, "not_after": "2025-08-01T13:00:00Z"},
    "not-after-before-issued": lambda e: {**e, "not_after": "2025-08-01T11:59:59.000000Z"},
    "body-list": lambda e: {**e, "body": []},
    "body-string": lambda e: {**e, "body": "hello"},
}


@pytest.mark.parametrize("break_", ENVELOPE_BREAKS.values(), ids=ENVELOPE_BREAKS.keys())
def test_envelope_rules_are_enforced_by_check_envelope(break_: Callable[[dict[str, Any]], Any]) -> None:
    """check_envelope refuses each broken envelope with a typed format error."""
    with pytest.raises((StatementError, KeyFormatError, TimeFormatError)):
        check_envelope(break_(envelope()))


@pytest.mark.parametrize("break_", ENVELOPE_BREAKS.values(), ids=ENVELOPE_BREAKS.keys())
def test_envelope_rules_are_enforced_when_parsing(break_: Callable[[dict[str, Any]], Any]) -> None:
    """parse_statement refuses a correctly signed note whose envelope breaks a rule."""
    with pytest.raises(FormatError):
        parse_statement(raw_statement(break_(envelope()), [ALICE]))


@pytest.mark.parametrize("break_", ENVELOPE_BREAKS.values(), ids=ENVELOPE_BREAKS.keys())
def test_sign_statement_refuses_broken_envelopes(break_: Callable[[dict[str, Any]], Any]) -> None:
    """sign_statement refuses to sign a broken envelope."""
    with pytest.raises(FormatError):
        sign_statement(break_(envelope()), [ALICE])


def test_not_after_equal_to_issued_at_is_allowed() -> None:
    """A statement may expire at the instant it is issued."""
    check_envelope(envelope(not_after=envelope()["issued_at"]))


def test_type_and_id_at_their_maximum_lengths_are_allowed() -> None:
    """A 64-character type and a 128-character id are accepted."""
    check_envelope(envelope(type="m" * 64, id="a" * 128))


def test_uuid_ids_are_allowed() -> None:
    """A UUID (the suggested id) is a valid id."""
    check_envelope(envelope(id="7f9c2ba4-e88f-4e54-93c1-8f0d0a6e1b55"))


def test_extra_signature_line_is_refused() -> None:
    """A signature line whose name is not in signers is refused."""
    with pytest.raises(StatementError, match="do not match"):
        parse_statement(raw_statement(envelope(), [ALICE, BOB]))


def test_missing_signature_line_is_refused() -> None:
    """A listed signer without a signature line is refused."""
    env = envelope(signers=["irs.gov/alice", "irs.gov/bob"])
    with pytest.raises(StatementError, match="do not match"):
        parse_statement(raw_statement(env, [ALICE]))


def test_two_lines_for_one_signer_are_refused() -> None:
    """One listed name signing twice (even with two keys) does not match the signers list."""
    with pytest.raises(StatementError, match="do not match"):
        parse_statement(raw_statement(envelope(), [ALICE, key("irs.gov/alice", 1)]))


def test_sign_statement_checks_signature_names() -> None:
    """sign_statement refuses to produce a note whose signature names differ from signers."""
    with pytest.raises(StatementError):
        sign_statement(envelope(), [BOB])


def test_non_canonical_envelope_text_is_refused() -> None:
    """An envelope written with whitespace (though validly signed) is refused."""
    text = canonical_bytes(envelope()).decode().replace('"v":1', '"v": 1') + "\n"
    with pytest.raises(CanonicalError):
        parse_statement(sign_note(text, [ALICE]).encode())


def test_text_that_is_not_json_is_refused() -> None:
    """A signed note whose text is not JSON is not a statement."""
    with pytest.raises(CanonicalError):
        parse_statement(sign_note("hello\n", [ALICE]).encode())


def test_multi_line_text_is_refused() -> None:
    """A two-line text (JSON followed by more) is refused."""
    text = canonical_bytes(envelope()).decode() + "\nmore\n"
    with pytest.raises(FormatError):
        parse_statement(sign_note(text, [ALICE]).encode())


def test_unsigned_statement_is_refused() -> None:
    """Text without any signature block is refused as a note."""
    with pytest.raises(NoteError):
        parse_statement(canonical_bytes(envelope()).decode() + "\n")


def sized_statement(size: int) -> str:
    """A note signed by ALICE over a valid envelope that is exactly ``size`` UTF-8 bytes long."""
    probe = raw_statement(envelope(body={"text": ""}), [ALICE])
    padding = size - len(probe.encode("utf-8"))
    assert padding >= 0
    return raw_statement(envelope(body={"text": "x" * padding}), [ALICE])


def test_statement_of_exactly_60000_bytes_is_accepted() -> None:
    """A statement of exactly MAX_STATEMENT_BYTES (60,000) bytes is accepted and can be signed."""
    assert MAX_STATEMENT_BYTES == 60_000
    raw = sized_statement(MAX_STATEMENT_BYTES)
    assert len(raw.encode("utf-8")) == MAX_STATEMENT_BYTES
    stmt = parse_statement(raw)
    assert sign_statement(stmt.envelope, [ALICE]) == raw


def test_statement_of_60001_bytes_is_refused() -> None:
    """One byte more than MAX_STATEMENT_BYTES is refused by parse_statement and by sign_statement."""
    raw = sized_statement(MAX_STATEMENT_BYTES + 1)
    with pytest.raises(StatementError, match="60001 bytes"):
        parse_statement(raw)
    envelope_over = parse_statement(sized_statement(MAX_STATEMENT_BYTES)).envelope
    envelope_over["body"] = {"text": envelope_over["body"]["text"] + "x"}
    with pytest.raises(StatementError, match="60001 bytes"):
        sign_statement(envelope_over, [ALICE])


def test_size_limit_counts_utf8_bytes() -> None:
    """The limit is on UTF-8 bytes, not characters."""
    probe = raw_statement(envelope(body={"text": ""}), [ALICE])
    chars = (MAX_STATEMENT_BYTES - len(probe.encode("utf-8"))) // 2 + 1  # 'é' is 2 bytes
    raw = raw_statement(envelope(body={"text": "é" * chars}), [ALICE])
    assert len(raw) <= MAX_STATEMENT_BYTES < len(raw.encode("utf-8"))
    with pytest.raises(StatementError, match="at most 60000"):
        parse_statement(raw)


def test_lone_surrogate_is_a_statement_error() -> None:
    """A str statement holding a lone surrogate (e.g. from a JSON \\ud800 escape) is refused with StatementError."""
    raw = sign_statement(envelope(), [ALICE])
    with pytest.raises(StatementError, match="surrogate"):
        parse_statement(raw.replace("hello", "hel\ud800lo", 1))
