"""Salt derivation, seed requests and sealed seeds (docs/FORMAT.md § 13.1), without a database."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.authoring import disclosure as dc
from ledger.core.bundle_format import commitment_slots, statement_commitments
from ledger.core.canonical import canonical_bytes
from ledger.core.keys import SignerKey
from ledger.core.statement import parse_statement
from ledger.salts import (
    SALT_TAG,
    SaltDeriver,
    SaltSeed,
    SeedError,
    derive_salt,
    open_seed,
    open_seed_answer,
    parse_seed_request,
    seal_seed,
    seed_answer,
    seed_request,
    slot_document,
)

SEED = bytes(range(32))
FIELDS = st.from_regex(r"[a-z0-9_]{1,12}(\.[a-z0-9_]{1,8})?", fullmatch=True)


@given(FIELDS, st.one_of(st.none(), st.integers(0, 10**9)), st.integers(0, 1000))
def test_slot_document_is_jcs(field: str, line: int | None, position: int) -> None:
    """The slot's bytes built directly equal the canonical encoder's, and the service's fast deriver agrees."""
    assert slot_document(field, line, position) == canonical_bytes({"field": field, "line": line,
                                                                    "position": position})
    assert SaltDeriver(SEED)(field, line, position) == derive_salt(SEED, field, line, position)
    assert SaltSeed("s", "request", "p", SEED).salt(field, line, position) == derive_salt(SEED, field, line, position)


def test_known_answer() -> None:
    """The derivation is HMAC-SHA-256(seed, tag || JCS(slot))[:16], byte for byte."""
    expected = hmac.new(SEED, b'dl/salt/v1\n{"field":"tin","line":7,"position":0}', hashlib.sha256).digest()[:16]
    assert SALT_TAG == b"dl/salt/v1\n"
    assert derive_salt(SEED, "tin", 7, 0) == expected
    assert derive_salt(SEED, "tin", 7, 0).hex() == "1a20a83b473b87b13b6e129b783c12b9"  # FORMAT § 13.1's example


def test_slots_are_distinct_and_cover_every_commitment() -> None:
    """Two lines with the same TIN get different salts (different slots), and the slots list exactly
    the statement's commitments (one definition for the service, the verifier and the client)."""
    seed = SaltSeed.local("r-1", "request", "ice.dhs.gov/director")
    key = SignerKey.generate("ice.dhs.gov/director")
    sub = dc.request(key, exception="6103(i)(2)", agency="DHS/ICE", statute="8 USC 1253(a)(1)",
                     purpose="criminal_investigation", purpose_text="p", fields=["address"],
                     recipients=[dc.Recipient("A", "DHS/ICE"), dc.Recipient("B", "DHS/ICE")],
                     lines=[dc.Line("900700001", "Same Name", None), dc.Line("900700001", "Same Name", "x")],
                     case_ids=["c1", "c2"], seed=seed)
    stmt = parse_statement(sub.note)
    slots = commitment_slots(stmt)
    assert [(s.field, s.commitment) for s in slots] == statement_commitments(stmt)
    assert len({(s.field, s.line, s.position) for s in slots}) == len(slots) == len(sub.openings)
    by = {o.commitment: o for o in sub.openings}
    for s in slots:
        assert by[s.commitment].salt == seed.salt(s.field, s.line, s.position)
    tins = [s.commitment for s in slots if s.field == "tin"]
    assert len(tins) == 2 and tins[0] != tins[1]


def test_slot_document_refuses_bad_input() -> None:
    with pytest.raises(SeedError):
        slot_document('tin","x', 0, 0)
    with pytest.raises(SeedError):
        slot_document("tin", -1, 0)
    with pytest.raises(SeedError):
        derive_salt(b"short", "tin", 0, 0)


def test_seed_request_round_trip_and_domain_separation() -> None:
    """A seed request parses back to what was signed; its text can never parse as a statement."""
    key = SignerKey.generate("ice.dhs.gov/director")
    note = seed_request(key, "ledger.test.example/disclosures", "request", "abc-1")
    req = parse_seed_request(note)
    assert (req.principal, req.origin, req.statement_id, req.statement_type) == (
        key.name, "ledger.test.example/disclosures", "abc-1", "request")
    assert note.startswith("dl/salt-seed-request/v1\n{")
    with pytest.raises(Exception):  # noqa: B017 - any parse error: it is not a statement
        parse_statement(note)
    for bad in (note.replace("v1", "v2", 1), note.replace('"request"', '"review"'),
                note.replace("abc-1", "bad id")):
        with pytest.raises(SeedError):
            parse_seed_request(bad)


def test_sealed_seed_opens_only_with_the_principals_key() -> None:
    key, other = SignerKey.generate("a.example/x"), SignerKey.generate("b.example/y")
    sealed = seal_seed(key.verifier, SEED)
    assert SEED not in sealed and open_seed(key, sealed) == SEED
    with pytest.raises(SeedError):
        open_seed(other, sealed)
    answer = seed_answer(SaltSeed("s-1", "request", key.name, SEED, "2030-01-01T00:00:00.000000Z"), key.verifier)
    assert SEED.hex() not in json.dumps(answer)
    got = open_seed_answer(key, answer)
    assert (got.statement_id, got.seed) == ("s-1", SEED) and SEED.hex() not in repr(got)
    with pytest.raises(SeedError):
        open_seed_answer(other, answer)  # issued to another principal
