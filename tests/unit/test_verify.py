"""ledger.core.verify.LogVerifier: a whole log checked from its entry bytes; tampering named by index."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any

import pytest
from corebuild import LogBuilder, chain, flip_signature_bit, key, small_log, stamp

from ledger.core.checkpoint import open_checkpoint
from ledger.core.entry import encode_entry
from ledger.core.errors import VerificationError
from ledger.core.merkle import root_from_leaf_hashes
from ledger.core.verify import LogVerifier, check_deferred, entry_record


@pytest.fixture(scope="module")
def log() -> LogBuilder:
    """genesis, two registrations, four memos and a revocation: 8 entries."""
    log = small_log()
    requester = key("ice.dhs.gov/director")
    log.append(log.memo(requester, "third"))
    log.append(log.memo(requester, "fourth"))
    log.append(log.revocation(requester))
    assert log.size == 8
    return log


def verify_all(data: list[bytes], **options: bool) -> LogVerifier:
    verifier = LogVerifier(**options)
    for data_i in data:
        verifier.add(data_i)
    return verifier


def failure(data: list[bytes]) -> VerificationError:
    with pytest.raises(VerificationError) as caught:
        verify_all(data)
    return caught.value


def test_valid_log_verifies_to_the_checkpoint_root(log: LogBuilder) -> None:
    """A valid log verifies entry by entry and its root equals the signed checkpoint's."""
    verifier = verify_all(log.data())
    assert verifier.size == log.size
    opened = open_checkpoint(log.checkpoint().encode(), log.checkpoint_key.verifier)
    assert (opened.checkpoint.size, opened.checkpoint.root) == (verifier.size, verifier.root())
    assert verifier.root() == root_from_leaf_hashes([e.leaf_hash for e in log.entries])
    assert verifier.trust.origin == log.origin


def test_add_returns_the_parsed_entry(log: LogBuilder) -> None:
    """add returns each entry with its index and leaf hash."""
    verifier = LogVerifier()
    for index, data in enumerate(log.data()):
        entry = verifier.add(data, index)
        assert entry.index == index
        assert entry.leaf_hash == log.entries[index].leaf_hash


def test_index_argument_out_of_sequence_is_refused(log: LogBuilder) -> None:
    """Passing an index other than the next one is refused with the expected index."""
    verifier = LogVerifier()
    with pytest.raises(VerificationError) as caught:
        verifier.add(log.data()[0], 1)
    assert (caught.value.index, caught.value.found) == (0, 1)


@pytest.mark.parametrize("k", [0, 3, 6])
def test_bit_flip_is_caught_at_that_entry_or_the_next(log: LogBuilder, k: int) -> None:
    """Flipping any one bit of entry k fails at k, or (if k still parses and verifies) at k+1's prev."""
    prefix = LogVerifier()
    for data in log.data()[:k]:
        prefix.add(data)
    original = log.data()[k]
    caught_at_next = 0
    for position in range(len(original)):
        mutated = bytearray(original)
        mutated[position] ^= 1 << (position % 8)
        verifier = copy.deepcopy(prefix)
        data = [bytes(mutated), *log.data()[k + 1 :]]
        with pytest.raises(VerificationError) as caught:
            for item in data:
                verifier.add(item)
        assert caught.value.index in (k, k + 1), (position, str(caught.value))
        if caught.value.index == k + 1:
            caught_at_next += 1
            assert caught.value.reason == "prev does not link to the previous entry"
    assert caught_at_next < len(original) // 20


def test_bit_flip_in_a_signature_names_the_entry(log: LogBuilder) -> None:
    """A flipped signature bit, with the chain re-linked around it, fails at that entry as a signature."""
    statements = log.statements()
    statements[3] = flip_signature_bit(statements[3], bit=100)
    error = failure([e.data for e in chain(statements, log.recorded_ats())])
    assert error.index == 3
    assert "does not verify" in error.reason


def test_tampered_statement_text_with_relinked_chain_is_caught(log: LogBuilder) -> None:
    """Rewriting a memo's text and recomputing every later prev still fails on the signature."""
    statements = log.statements()
    statements[2] = statements[2].replace('"text":"first"', '"text":"fitst"')
    error = failure([e.data for e in chain(statements, log.recorded_ats())])
    assert error.index == 2
    assert "does not verify" in error.reason


def test_deleted_entry_is_caught(log: LogBuilder) -> None:
    """Deleting entry k makes entry k+1 arrive at position k."""
    data = log.data()
    del data[4]
    error = failure(data)
    assert error.index == 4
    assert error.reason == "entry index out of sequence"
    assert (error.expected, error.found) == (4, 5)


def test_swapped_entries_are_caught(log: LogBuilder) -> None:
    """Swapping entries k and k+1 fails at k."""
    data = log.data()
    data[2], data[3] = data[3], data[2]
    error = failure(data)
    assert error.index == 2
    assert error.reason == "entry index out of sequence"


def test_renumbered_swap_is_caught_by_the_chain(log: LogBuilder) -> None:
    """Swapping two entries and fixing their index fields still breaks the prev chain at k."""
    e2, e3 = log.entries[2], log.entries[3]
    data = log.data()
    data[2] = encode_entry(2, e3.prev, e3.recorded_at, e3.statement).data
    data[3] = encode_entry(3, e2.prev, e2.recorded_at, e2.statement).data
    error = failure(data)
    assert error.index == 2
    assert error.reason == "prev does not link to the previous entry"


def test_recorded_at_decreasing_is_caught(log: LogBuilder) -> None:
    """An entry recorded before its predecessor fails at that entry, even with a valid chain."""
    times = log.recorded_ats()
    times[5] = stamp(3.5)
    error = failure([e.data for e in chain(log.statements(), times)])
    assert error.index == 5
    assert error.reason == "recorded_at decreases"
    assert error.found == stamp(3.5)


def test_equal_recorded_at_is_allowed(log: LogBuilder) -> None:
    """recorded_at may repeat (a batch in one transaction); it only must not decrease."""
    times = log.recorded_ats()
    times[5] = times[4]
    verify_all([e.data for e in chain(log.statements(), times)])


def test_wrong_index_field_is_caught(log: LogBuilder) -> None:
    """An entry whose own index field is wrong fails at its position."""
    e = log.entries[1]
    data = log.data()
    data[1] = encode_entry(7, e.prev, e.recorded_at, e.statement).data
    error = failure(data)
    assert error.index == 1
    assert error.found == 7


def test_wrong_prev_is_caught(log: LogBuilder) -> None:
    """An entry whose prev is not the previous leaf hash fails with expected and found."""
    e = log.entries[4]
    data = log.data()
    data[4] = encode_entry(4, "0" * 64, e.recorded_at, e.statement).data
    error = failure(data)
    assert error.index == 4
    assert (error.expected, error.found) == (log.entries[3].leaf_hash.hex(), "0" * 64)


def test_entry_zero_must_link_to_zeros(log: LogBuilder) -> None:
    """Entry 0's prev is 64 zeros."""
    e = log.entries[0]
    error = failure([encode_entry(0, "ab" * 32, e.recorded_at, e.statement).data])
    assert error.index == 0
    assert error.reason == "prev does not link to the previous entry"


def test_inserted_statement_by_unregistered_key_names_the_rule(log: LogBuilder) -> None:
    """A statement by an unknown key, inserted with a re-linked chain, fails at its index with the rule id."""
    statements = log.statements()
    forger = LogBuilder()
    forged = forger.statement("memo", [key("ice.dhs.gov/impostor")], {"text": "x"}, issued_at=forger.now())
    statements.insert(3, forged)
    times = [stamp(0)] * len(statements)
    error = failure([e.data for e in chain(statements, times)])
    assert error.index == 3
    assert error.reason.startswith("trust.unknown_key: ")


def test_malformed_entry_bytes_are_named(log: LogBuilder) -> None:
    """Bytes that are not an entry fail at their position as a malformed entry."""
    data = log.data()
    data[2] = data[2] + b" "
    error = failure(data)
    assert error.index == 2
    assert error.reason.startswith("malformed entry: ")


def test_malformed_statement_is_named(log: LogBuilder) -> None:
    """An entry whose statement is not a statement fails as a malformed statement at its index."""
    statements = log.statements()
    statements[2] = "not a statement\n"
    error = failure([e.data for e in chain(statements, log.recorded_ats())])
    assert error.index == 2
    assert error.reason.startswith("malformed statement: ")


def test_truncated_log_verifies_but_not_to_the_checkpoint(log: LogBuilder) -> None:
    """Dropping the last entries leaves a valid prefix whose root is not the checkpoint's."""
    verifier = verify_all(log.data()[:-2])
    assert verifier.size == log.size - 2
    assert verifier.root() != log.checkpoint().checkpoint.root


def test_deferred_signatures_pass_for_a_valid_log(log: LogBuilder) -> None:
    """With defer_signatures, every Ed25519 check is collected and passes afterwards."""
    verifier = verify_all(log.data(), defer_signatures=True)
    assert [item[0] for item in verifier.deferred.items] == list(range(log.size))
    assert check_deferred(verifier.deferred.items) is None


def test_deferred_signature_failure_is_named(log: LogBuilder) -> None:
    """A bad signature passes add() when deferred and is named by check_deferred with its index."""
    statements = log.statements()
    statements[5] = flip_signature_bit(statements[5], bit=3)
    data = [e.data for e in chain(statements, log.recorded_ats())]
    verifier = verify_all(data, defer_signatures=True)
    result = check_deferred(verifier.deferred.items)
    assert result is not None
    assert result[0] == 5
    assert "does not verify" in result[1]


def test_on_node_sees_every_tree_node(log: LogBuilder) -> None:
    """on_node receives every completed subtree (leaves included) as entries are verified."""
    verifier = LogVerifier()
    seen: list[tuple[int, int]] = []
    verifier.on_node = lambda level, index, h: seen.append((level, index))
    for data in log.data():
        verifier.add(data)
    assert sorted(seen) == sorted((lvl, i) for lvl in range(4) for i in range(8 >> lvl))


def _outcome(
    verify_one: Callable[[LogVerifier, bytes, int], None], data: list[bytes]
) -> tuple[int, bytes, Any, str | None]:
    verifier = LogVerifier(defer_signatures=True)
    reason = None
    try:
        for index, data_i in enumerate(data):
            verify_one(verifier, data_i, index)
    except VerificationError as e:
        reason = str(e)
    return verifier.size, verifier.root(), verifier.deferred.items, reason


def _by_add(verifier: LogVerifier, data: bytes, index: int) -> None:
    verifier.add(data)


def _by_record(verifier: LogVerifier, data: bytes, index: int) -> None:
    # The record crosses processes in the verifier: check it survives pickling.
    verifier.add_record(pickle.loads(pickle.dumps(entry_record(data, index))))


@pytest.mark.parametrize("mutation", ["none", "signature", "swap", "statement", "entry", "unregistered"])
def test_entry_record_then_add_record_decides_as_add(log: LogBuilder, mutation: str) -> None:
    """The compact record path (entry_record in a worker, add_record in order) accepts,
    refuses and collects signatures exactly as add() with deferred signatures."""
    statements = log.statements()
    data = log.data()
    if mutation == "signature":
        statements[5] = flip_signature_bit(statements[5], bit=3)
        data = [e.data for e in chain(statements, log.recorded_ats())]
    elif mutation == "swap":
        data[3], data[4] = data[4], data[3]
    elif mutation == "statement":
        statements[4] = "not a statement\n"
        data = [e.data for e in chain(statements, log.recorded_ats())]
    elif mutation == "entry":
        data[6] = data[6][:-1]
    elif mutation == "unregistered":
        forger = LogBuilder()
        forged = forger.statement("memo", [key("ice.dhs.gov/impostor")], {"text": "x"}, issued_at=forger.now())
        statements.insert(3, forged)
        data = [e.data for e in chain(statements, [stamp(0)] * len(statements))]
    outcome = _outcome(_by_record, data)
    assert outcome == _outcome(_by_add, data)
    size, _, items, reason = outcome
    if mutation == "none":
        assert (size, reason, check_deferred(items)) == (log.size, None, None)
    elif mutation == "signature":
        assert reason is None
        failed = check_deferred(items)
        assert failed is not None and failed[0] == 5 and "does not verify" in failed[1]
    else:
        assert reason is not None

