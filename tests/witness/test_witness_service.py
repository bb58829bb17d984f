"""The witness's add-checkpoint answers, one test per answer code of c2sp.org/tlog-witness, on SQLite and
PostgreSQL; its monitoring answer; the refusals it keeps; and that it never cosigns a smaller tree or
one that does not extend the last it cosigned."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from witnessfix import LOG_KEY, ORIGIN, WITNESS_KEY, Log, make_witness

from ledger.core.cosignature import CosignerSigner
from ledger.core.keys import SignerKey
from ledger.core.merkle import EMPTY_ROOT
from ledger.core.note import parse_note
from ledger.core.tlog_policy import parse_policy
from ledger.core.witness_protocol import AddCheckpoint, origin_hash, parse_cosignature_answer
from ledger.core.witnessed import check_witness_policy
from ledger.witness.service import Witness
from ledger.witness.state import WitnessStore

NOW = 1_780_000_000.0
POLICY = parse_policy(f"log {LOG_KEY.verifier}\nwitness w {WITNESS_KEY.verifier}\nquorum w\n")


def cosigned_note(log: Log, size: int, answer_body: bytes) -> str:
    lines = parse_cosignature_answer(answer_body)
    return log.checkpoint(size) + "".join(line.line() for line in lines)


# ---- 200 ---------------------------------------------------------------------------------------
def test_200_first_checkpoint_then_an_extension(db_url: str) -> None:
    """From nothing (old 0, no proof), then from the size held with a consistency proof: cosigned each
    time, the cosignature verifying as the pinned witness's under a policy."""
    w = make_witness(db_url, clock=NOW)
    log = Log().grow(5)
    first = w.add_checkpoint(log.request(0))
    assert first.status == 200, first.body
    assert first.body.startswith(b"\xe2\x80\x94 witness.tigta.example/w1 ")
    check_witness_policy(cosigned_note(log, 5, first.body), LOG_KEY.verifier, POLICY)
    log.grow(8)
    second = w.add_checkpoint(log.request(5))
    assert second.status == 200, second.body
    state = w.store.log(ORIGIN)
    assert state is not None and (state.size, state.root) == (13, log.root())


def test_200_same_size_same_root_is_cosigned_again(db_url: str) -> None:
    """The same checkpoint again (old = size, no proof) gets a fresh cosignature."""
    w = make_witness(db_url, clock=NOW)
    log = Log().grow(3)
    assert w.add_checkpoint(log.request(0)).status == 200
    again = w.add_checkpoint(log.request(3))
    assert again.status == 200, again.body


def test_200_empty_tree(db_url: str) -> None:
    """Size 0 with the empty tree's root is cosigned."""
    w = make_witness(db_url, clock=NOW)
    assert w.add_checkpoint(Log().request(0)).status == 200


def test_timestamps_never_go_back(db_url: str) -> None:
    """A clock set back does not produce a cosignature older than the one before."""
    clock = [NOW]
    w = make_witness(db_url)
    w.clock = lambda: clock[0]
    log = Log().grow(2)
    w.add_checkpoint(log.request(0))
    clock[0] = NOW - 3600
    log.grow(1)
    body = w.add_checkpoint(log.request(2)).body
    assert int.from_bytes(parse_cosignature_answer(body)[0].signature[:8], "big") == int(NOW)


# ---- 400 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("body", [b"", b"old 1\n", b"old x\n\n", b"nonsense", b"old 0\n\nnot a note\n"],
                         ids=["empty", "no-empty-line", "bad-size", "nonsense", "bad-note"])
def test_400_malformed_request(db_url: str, body: bytes) -> None:
    """A body that is not old line, proof lines, empty line, checkpoint: 400, nothing kept."""
    w = make_witness(db_url, clock=NOW)
    assert w.add_checkpoint(body).status == 400
    assert w.store.refusals() == []


def test_400_old_size_larger_than_the_checkpoint(db_url: str) -> None:
    """old > checkpoint size: 400, and the signed submission is kept as evidence."""
    w = make_witness(db_url, clock=NOW)
    log = Log().grow(3)
    answer = w.add_checkpoint(AddCheckpoint(4, (), log.checkpoint()).encode())
    assert answer.status == 400
    (refusal,) = w.store.refusals()
    assert (refusal.status, refusal.old_size, refusal.size) == (400, 4, 3)


# ---- 403 ---------------------------------------------------------------------------------------
def test_403_no_signature_by_a_trusted_key(db_url: str) -> None:
    """A checkpoint for a known origin signed by another key of the same name: 403, nothing kept."""
    w = make_witness(db_url, clock=NOW)
    impostor = Log(key=SignerKey(ORIGIN, bytes(32))).grow(3)
    answer = w.add_checkpoint(impostor.request(0))
    assert answer.status == 403 and b"no signature by a key" in answer.body
    assert w.store.refusals() == []
    assert w.store.log(ORIGIN).size is None  # type: ignore[union-attr]


def test_403_trusted_key_signature_fails(db_url: str) -> None:
    """A line with the trusted key's name and ID that does not verify (text changed): 403."""
    w = make_witness(db_url, clock=NOW)
    log = Log().grow(3)
    body = log.request(0).replace(b"\n3\n", b"\n4\n", 1)
    assert w.add_checkpoint(body).status == 403


def test_unknown_signature_lines_are_ignored_and_not_repeated(db_url: str) -> None:
    """A checkpoint carrying another witness's cosignature (an unknown key) is cosigned; the monitoring
    answer holds only the log's verified line and this witness's."""
    w = make_witness(db_url, clock=NOW)
    log = Log().grow(3)
    other = type(WITNESS_KEY)("witness.gao.example/w1", bytes(range(32)))
    note = log.checkpoint()
    with_other = note + other.cosign(parse_note(note).text, 5).line()
    answer = w.add_checkpoint(AddCheckpoint(0, (), with_other).encode())
    assert answer.status == 200
    served = w.latest(origin_hash(ORIGIN)).body.decode()
    assert "witness.gao.example" not in served and served.startswith(note)


# ---- 404 ---------------------------------------------------------------------------------------
def test_404_unknown_origin(db_url: str) -> None:
    """A checkpoint of a log the witness does not follow: 404, nothing kept."""
    w = make_witness(db_url, clock=NOW)
    other = Log(key=SignerKey("other.example/log", bytes(32))).grow(2)
    assert w.add_checkpoint(other.request(0)).status == 404
    assert w.store.refusals() == []


# ---- 409 ---------------------------------------------------------------------------------------
def test_409_old_size_is_not_the_size_held(db_url: str) -> None:
    """An old size other than the one held: 409, the body the held size and a newline, text/x.tlog.size."""
    w = make_witness(db_url, clock=NOW)
    log = Log().grow(5)
    w.add_checkpoint(log.request(0))
    log.grow(2)
    answer = w.add_checkpoint(log.request(3))
    assert (answer.status, answer.body, answer.content_type) == (409, b"5\n", "text/x.tlog.size")
    (refusal,) = w.store.refusals()
    assert refusal.held_size == 5 and refusal.body == log.request(3)


def test_409_a_smaller_tree_is_never_cosigned(db_url: str) -> None:
    """After size 5, a checkpoint of size 3 (whatever old size is claimed) is never cosigned."""
    w = make_witness(db_url, clock=NOW)
    log = Log().grow(5)
    w.add_checkpoint(log.request(0))
    for old in (0, 3):
        assert w.add_checkpoint(log.request(old, 3)).status == 409
    assert w.store.log(ORIGIN).size == 5  # type: ignore[union-attr]


def test_409_on_first_contact_from_old_zero(db_url: str) -> None:
    """A client that does not know the witness's size sends old 0 and learns it from the 409."""
    w = make_witness(db_url, clock=NOW)
    log = Log().grow(4)
    w.add_checkpoint(log.request(0))
    log.grow(1)
    assert w.add_checkpoint(log.request(0)).body == b"4\n"


# ---- 422 ---------------------------------------------------------------------------------------
def test_422_same_size_another_root_is_a_fork(db_url: str) -> None:
    """The size held, with another root (old = size, no proof): 422, kept, named a fork."""
    w = make_witness(db_url, clock=NOW)
    log = Log().grow(6)
    w.add_checkpoint(log.request(0))
    fork = log.fork(4, "fork").grow(2)
    answer = w.add_checkpoint(fork.request(6))
    assert answer.status == 422 and b"FORK" in answer.body
    assert w.store.refusals()[0].status == 422


def test_422_proof_that_does_not_extend_the_tree_held(db_url: str) -> None:
    """A fork's checkpoint with the fork's own (valid for it) proof from the size held: 422."""
    w = make_witness(db_url, clock=NOW)
    log = Log().grow(6)
    w.add_checkpoint(log.request(0))
    fork = log.fork(4, "fork").grow(5)
    assert w.add_checkpoint(fork.request(6)).status == 422
    assert w.store.log(ORIGIN).root == log.root()  # type: ignore[union-attr]


def test_422_tampered_proof(db_url: str) -> None:
    """The right tree with one proof hash changed: 422."""
    w = make_witness(db_url, clock=NOW)
    log = Log().grow(6)
    w.add_checkpoint(log.request(0))
    log.grow(7)
    proof = log.proof(6)
    proof[0] = bytes(32)
    assert w.add_checkpoint(AddCheckpoint(6, tuple(proof), log.checkpoint()).encode()).status == 422


def test_422_proof_with_old_size_zero(db_url: str) -> None:
    """old 0 with proof lines: 422."""
    w = make_witness(db_url, clock=NOW)
    log = Log().grow(3)
    assert w.add_checkpoint(AddCheckpoint(0, (bytes(32),), log.checkpoint()).encode()).status == 422


def test_422_size_zero_with_another_root(db_url: str) -> None:
    """A size-0 checkpoint whose root is not SHA-256 of nothing: 422."""
    from ledger.core.checkpoint import Checkpoint, sign_checkpoint

    w = make_witness(db_url, clock=NOW)
    note = sign_checkpoint(Checkpoint(ORIGIN, 0, bytes(32)), [LOG_KEY]).encode()
    assert bytes(32) != EMPTY_ROOT
    assert w.add_checkpoint(AddCheckpoint(0, (), note).encode()).status == 422


# ---- refusals, monitoring, log keys ------------------------------------------------------------
def test_the_same_refusal_again_is_counted_not_stored_twice(db_url: str) -> None:
    """Replaying one refused checkpoint a hundred times adds no row: it counts."""
    w = make_witness(db_url, clock=NOW)
    log = Log().grow(5)
    w.add_checkpoint(log.request(0))
    stale = log.request(0)
    for _ in range(100):
        assert w.add_checkpoint(stale).status == 409
    (refusal,) = w.store.refusals()
    assert refusal.times == 100


def test_monitoring_answer(db_url: str) -> None:
    """404 before anything is cosigned; then the latest cosigned checkpoint with the log's verified
    signature and this witness's cosignature, which a monitor can check under a policy."""
    w = make_witness(db_url, clock=NOW)
    assert w.latest(origin_hash(ORIGIN)).status == 404
    assert w.latest("0" * 64).status == 404
    log = Log().grow(9)
    w.add_checkpoint(log.request(0))
    served = w.latest(origin_hash(ORIGIN))
    assert served.status == 200
    witnessed = check_witness_policy(served.body, LOG_KEY.verifier, POLICY)
    assert witnessed.signed.checkpoint.size == 9


def test_log_key_rotation_both_keys_then_the_new_one(db_url: str) -> None:
    """During a log-key rotation the witness trusts both keys; after the old one is removed, a checkpoint
    signed by it alone is 403."""
    w = make_witness(db_url, clock=NOW)
    new_key = SignerKey(ORIGIN, bytes([5]) * 32)
    w.store.add_log_key(ORIGIN, str(new_key.verifier))
    log = Log().grow(3)
    both = AddCheckpoint(0, (), log.checkpoint(keys=[new_key, LOG_KEY])).encode()
    assert w.add_checkpoint(both).status == 200
    log.grow(1)
    assert w.add_checkpoint(AddCheckpoint(3, tuple(log.proof(3)), log.checkpoint(keys=[new_key])).encode()).status \
        == 200
    w.store.remove_log_key(ORIGIN, str(LOG_KEY.verifier))
    log.grow(1)
    assert w.add_checkpoint(log.request(4)).status == 403


def test_concurrent_submissions_one_old_size_only_one_wins(db_url: str) -> None:
    """Eight witness processes' worth of connections (one store each) get eight different extensions of
    the held size at once: exactly one is cosigned, every other gets 409; the held tree is the winner's.
    (The database's lock decides, not a lock in this process.)"""
    w = make_witness(db_url, clock=NOW)
    log = Log().grow(4)
    assert w.add_checkpoint(log.request(0)).status == 200
    candidates = [log.fork(4, f"b{i}").grow(1 + i) for i in range(8)]
    witnesses = [make_witness(db_url, clock=NOW) for _ in candidates]
    statuses: list[int] = []
    start = threading.Barrier(8)

    def submit(candidate: Log, witness: Witness) -> None:
        body = candidate.request(4)
        start.wait()
        statuses.append(witness.add_checkpoint(body).status)

    threads = [threading.Thread(target=submit, args=(c, x)) for c, x in zip(candidates, witnesses, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(200) == 1 and set(statuses) <= {200, 409}
    held = w.store.log(ORIGIN)
    assert held is not None and any(held.root == c.root() and held.size == len(c.leaves) for c in candidates)


def test_our_witness_writes_go_s_cosignature_lines_byte_for_byte(tmp_path: Path) -> None:
    """Given a vector's witness seed and a clock at its timestamp, our witness, following the vector's log,
    answers the log's signed checkpoint with exactly the line Go wrote (tests/vectors/cosignature-v1.json)."""
    vectors = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "cosignature-v1.json").read_text())
    for n, vector in enumerate(vectors["vectors"]):
        for m, cosig in enumerate(vector["cosignatures"]):
            store = WitnessStore(f"sqlite:///{tmp_path}/v{n}-{m}.sqlite3")
            store.create_tables()
            origin = vector["checkpoint_body"].split("\n")[0]
            store.add_log_key(origin, vector["log_vkey"])
            signer = CosignerSigner(cosig["witness"], bytes.fromhex(cosig["seed_hex"]))
            witness = Witness(signer, store, lambda t=cosig["timestamp"]: float(t))
            answer = witness.add_checkpoint(AddCheckpoint(0, (), vector["log_signed_note"]).encode())
            assert (answer.status, answer.body.decode()) == (200, cosig["signature_line"]), vector["desc"]
            store.close()
