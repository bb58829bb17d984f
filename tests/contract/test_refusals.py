"""Refused appends store nothing: the log stays byte-for-byte the same (docs/FORMAT.md § 7.8)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from ledger.authoring.trust import key_revocation, signed
from ledger.core.b64 import b64decode, b64encode
from ledger.core.canonical import canonical_bytes
from ledger.core.keys import SignerKey
from ledger.core.note import NoteSignature, add_signatures, parse_note, sign_note
from ledger.core.statement import make_envelope, sign_statement
from ledger.core.times import utc_now
from ledger.domain.refusals import AppendRefused, RuleRefusal


def _flip_signature(note: str) -> str:
    parsed = parse_note(note)
    sig = parsed.signatures[0]
    bad = NoteSignature(sig.name, sig.key_id, bytes([sig.signature[0] ^ 1]) + sig.signature[1:])
    return parsed.text + "\n" + bad.line()


def _cases(world):
    req = world.requester
    stranger = SignerKey.generate("unknown.example/someone")
    env = make_envelope("request", str(uuid.uuid4()), [req.name], {"n": 1})
    text = canonical_bytes(env).decode() + "\n"
    two = make_envelope("request", str(uuid.uuid4()), [req.name, world.reviewer.name], {"n": 2})
    noncanonical_text = text.replace('"n":1', '"n": 1')
    past = utc_now() - timedelta(days=3)
    expired = make_envelope("request", str(uuid.uuid4()), [req.name], {"n": 3}, issued_at=past,
                            valid_for=timedelta(hours=1))
    future = make_envelope("request", str(uuid.uuid4()), [req.name], {"n": 4},
                           issued_at=utc_now() + timedelta(hours=2))
    return {
        "bad-signature": _flip_signature(sign_note(text, [req]).encode()),
        "missing-signature": sign_note(canonical_bytes(two).decode() + "\n", [req]).encode(),
        "extra-signature-line": add_signatures(parse_note(sign_note(text, [req]).encode()), [stranger]).encode(),
        "unknown-key": signed([stranger], "request", {"n": 5}),
        "role-not-allowed": signed([world.reviewer], "request", {"n": 6}),
        "type-not-in-policy": signed([req], "no_such_type", {"n": 7}),
        "oversized": signed([req], "request", {"blob": "x" * 61_000}) if False else
            sign_note(canonical_bytes({**env, "body": {"blob": "x" * 61_000}}).decode() + "\n", [req]).encode(),
        "malformed": "this is not a signed note",
        "non-canonical": sign_note(noncanonical_text, [req]).encode(),
        "expired": sign_statement(expired, [req]),
        "issued-in-future": sign_statement(future, [req]),
        "genesis-again": signed([req], "genesis", {"n": 8}),
    }


CASES = ["bad-signature", "missing-signature", "extra-signature-line", "unknown-key", "role-not-allowed",
         "type-not-in-policy", "oversized", "malformed", "non-canonical", "expired", "issued-in-future",
         "genesis-again"]


@pytest.mark.parametrize("case", CASES)
def test_refused_append_leaves_log_unchanged(world, case):
    """Each kind of bad statement is refused with a typed error and changes nothing."""
    note = _cases(world)[case]
    before_export, before_rows = world.export_bytes(), world.row_counts()
    with pytest.raises(AppendRefused) as info:
        world.ledger.append(note)
    assert info.value.rule
    assert world.export_bytes() == before_export
    assert world.row_counts() == before_rows


def test_revoked_key_refused_after_revocation(world):
    """A statement signed by a key after its revocation entry is refused."""
    world.ledger.append(world.statement(n=1))
    current = world.ledger.trust().current(world.requester.name)
    world.ledger.append(key_revocation(world.admin, world.requester.name, current.key))
    before = world.export_bytes()
    with pytest.raises(AppendRefused) as info:
        world.ledger.append(world.statement(n=2))
    assert info.value.rule == "trust.revoked_key"
    assert world.export_bytes() == before


def test_same_id_different_content_refused(world):
    """A statement id can name only one statement."""
    world.ledger.append(signed([world.requester], "request", {"n": 1}, statement_id="fixed-id-1"))
    before = world.export_bytes()
    with pytest.raises(AppendRefused) as info:
        world.ledger.append(signed([world.requester], "request", {"n": 2}, statement_id="fixed-id-1"))
    assert info.value.rule == "ledger.duplicate_id"
    assert world.export_bytes() == before


def test_batch_with_one_bad_statement_stores_none(world):
    """A batch is all or nothing."""
    good = [world.statement(n=i) for i in range(3)]
    bad = signed([world.reviewer], "request", {"n": 9})
    before = world.export_bytes()
    with pytest.raises(AppendRefused):
        world.ledger.append_batch([*good, bad])
    assert world.export_bytes() == before


def test_rule_refusal_records_blocked_entry_and_refuses_id(world):
    """A validly signed statement refused by a rule lands once as a ledger-signed `blocked` entry."""
    from ledger.core.statement import parse_statement
    from ledger.store.fsck import fsck

    def rules(stmt, index, trust, db):
        return ["test.no_forbidden"] if stmt.body.get("forbidden") else []

    world.with_rules(rules)
    note = signed([world.requester], "request", {"forbidden": True})
    size = world.ledger.size()
    with pytest.raises(RuleRefusal) as info:
        world.ledger.append(note)
    assert info.value.rules == ["test.no_forbidden"]
    assert info.value.blocked_index == size
    assert world.ledger.size() == size + 1
    blocked = parse_statement(__import__("ledger.core.entry", fromlist=["x"]).parse_entry(
        world.ledger.entry(size)).statement)
    refused = parse_statement(note)
    assert blocked.type == "blocked"
    assert blocked.signers == [world.ledger.keys.statement.name]
    assert blocked.body["statement_sha256"] == refused.sha256.hex()
    assert blocked.body["rules"] == ["test.no_forbidden"]
    # the refused id is refused from then on, even for the exact same statement
    with pytest.raises(AppendRefused) as again:
        world.ledger.append(note)
    assert again.value.rule == "ledger.refused_id"
    assert world.ledger.size() == size + 1
    assert fsck(world.ledger.store).ok


def test_b64_junk_in_signature_refused(world):
    """Signature lines must be strict base64."""
    note = world.statement()
    text, sig = note.rsplit("\n\n", 1)
    name, blob = sig[len("\u2014 "):].strip().split(" ")
    junk = text + "\n\n\u2014 " + name + " " + blob[:10] + "\n" + blob[10:] + "\n"
    with pytest.raises(AppendRefused):
        world.ledger.append(junk)
    assert b64encode(b64decode(blob)) == blob
