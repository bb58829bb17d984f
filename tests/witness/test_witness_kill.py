"""kill -9 of the witness while logs and a forger submit checkpoints: after every restart it has lost no
cosignature it gave, and it never cosigns a tree inconsistent with one it cosigned before.

One witness (the real `python -m ledger.witness serve`, its own database) lives through
LEDGER_WITNESS_KILL_TRIALS (default 20) SIGKILLs per backend. In each trial a log thread extends its
tree and submits it (resynchronising on 409), and a forger thread, holding the same log key (the
operator as adversary), submits forks from below the witness's size, smaller trees, same-size trees
with other roots, and now and then a legitimate-looking branch from exactly the witness's size (a
split view, which a witness cannot tell from the log going on). The witness is killed at a seeded
moment with requests in flight, restarted, and checked:

* every cosignature ever answered, in all trials, lies on one chain of trees (each cosigned tree is
  a prefix of the largest one), and verifies under the witness's key;
* the checkpoint it holds is one that was sent, at least as large as every one it answered, and
  extends them: an answered cosignature is never lost;
* after the restart, a fork from below its size, a same-size tree with another root and a smaller
  tree are each refused (422, 422, 409/400), never cosigned;
* its monitoring endpoint serves that checkpoint with the log's and its own valid signatures.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from witnessfix import LOG_KEY, ORIGIN, Log, Served, init_witness

from ledger.core.cosignature import parse_cosigner_vkey
from ledger.core.merkle import root_from_leaf_hashes
from ledger.core.note import parse_note
from ledger.core.tlog_policy import parse_policy
from ledger.core.witness_protocol import AddCheckpoint, monitoring_path, parse_cosignature_answer, parse_size_answer
from ledger.core.witnessed import check_witness_policy

TRIALS = int(os.environ.get("LEDGER_WITNESS_KILL_TRIALS", "20"))


def post(url: str, body: bytes) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url + "/add-checkpoint", data=body), timeout=5) as r:
            return int(r.status), bytes(r.read())
    except urllib.error.HTTPError as e:
        return int(e.code), bytes(e.read())


def held(url: str) -> tuple[int, bytes, bytes] | None:
    try:
        with urllib.request.urlopen(url + "/" + monitoring_path(ORIGIN), timeout=5) as r:
            note = bytes(r.read())
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise
    lines = parse_note(note).text.split("\n")
    import base64

    return int(lines[1]), base64.b64decode(lines[2]), note


@dataclass
class Book:
    """What was sent (tree leaves by (size, root)) and what was cosigned, across the witness's life."""

    sent: dict[tuple[int, bytes], list[bytes]] = field(default_factory=dict)
    cosigned: list[tuple[int, bytes, bytes, str]] = field(default_factory=list)  # size, root, answer, text
    lock: threading.Lock = field(default_factory=threading.Lock)
    branches: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def send(self, url: str, log: Log, old: int, size: int | None = None) -> tuple[int, bytes]:
        size = len(log.leaves) if size is None else size
        root = log.root(size)
        with self.lock:
            self.sent[(size, root)] = list(log.leaves[:size])
        note = log.checkpoint(size)
        proof = log.proof(old, size) if 0 < old < size else []
        status, body = post(url, AddCheckpoint(old, tuple(proof), note).encode())
        with self.lock:
            self.counts[str(status)] = self.counts.get(str(status), 0) + 1
            if status == 200:
                self.cosigned.append((size, root, body, parse_note(note).text))
        return status, body

    def cut(self) -> None:
        """A request the kill cut short (or the connection refused while the witness was down)."""
        with self.lock:
            self.counts["cut_by_kill"] = self.counts.get("cut_by_kill", 0) + 1

    def new_branch(self, leaves: list[bytes]) -> Log:
        with self.lock:
            self.branches += 1
            return Log(LOG_KEY, f"branch{self.branches}", list(leaves))


def log_thread(url: str, book: Book, start: Log, stop: threading.Event, rng: random.Random) -> None:
    log, old = start, 0
    while not stop.is_set():
        try:
            log.grow(rng.randint(1, 3))
            status, body = book.send(url, log, old)
            if status == 200:
                old = len(log.leaves)
            elif status == 409:
                old = parse_size_answer(body)
                if old > len(log.leaves):
                    log.grow(old - len(log.leaves))
            elif status == 422:  # the witness follows another branch: go on from what it holds
                now = held(url)
                if now is not None:
                    log, old = book.new_branch(book.sent[(now[0], now[1])]), now[0]
        except (OSError, urllib.error.URLError):
            book.cut()
            return


def forger_thread(url: str, book: Book, stop: threading.Event, rng: random.Random) -> None:
    while not stop.is_set():
        try:
            now = held(url)
            if now is None or now[0] < 2:
                time.sleep(0.01)
                continue
            size, root, _ = now
            base = book.sent[(size, root)]
            attack = rng.choice(["below", "below", "same-size", "smaller", "branch"])
            if attack == "below":  # a fork from below the witness's size, proved from its own tree
                fork = book.new_branch(base[: rng.randint(0, size - 1)]).grow(rng.randint(1, 4))
                fork.grow(max(0, size + 1 - len(fork.leaves)))
                book.send(url, fork, size)
            elif attack == "same-size":
                fork = book.new_branch(base[: size - 1]).grow(1)
                book.send(url, fork, size)
            elif attack == "smaller":
                book.send(url, book.new_branch(base), rng.choice([0, size - 1]), size - 1)
            else:  # a branch from exactly the witness's size: consistent with what it holds
                book.send(url, book.new_branch(base).grow(rng.randint(1, 3)), size)
        except (OSError, urllib.error.URLError):
            book.cut()
            return


def check_after_restart(url: str, book: Book, vkey: str, rng: random.Random) -> dict[str, int]:
    witness = parse_cosigner_vkey(vkey)
    with book.lock:
        cosigned = list(book.cosigned)
    for _size, _root, answer, text in cosigned:  # every answer was a valid cosignature of what was sent
        (line,) = [x for x in parse_cosignature_answer(answer) if witness.owns(x)]
        witness.verify(text, line)
    top = max(cosigned, key=lambda c: c[0]) if cosigned else None
    now = held(url)
    if top is None:
        return {"refused": 0}
    assert now is not None, "the witness answered cosignatures but holds nothing after the restart"
    size, root, note = now
    assert (size, root) in book.sent, "the witness holds a tree nobody sent"
    held_leaves = book.sent[(size, root)]
    top_leaves = book.sent[(top[0], top[1])]
    for c_size, c_root, _, _ in cosigned:
        assert root_from_leaf_hashes(top_leaves[:c_size]) == c_root, "two cosigned trees are inconsistent"
    assert size >= top[0], f"an answered cosignature of size {top[0]} was lost: the witness holds {size}"
    assert root_from_leaf_hashes(held_leaves[: top[0]]) == top[1], "the held tree does not extend the answered ones"
    policy = parse_policy(f"log {LOG_KEY.verifier}\nwitness w {vkey}\nquorum w\n")
    assert check_witness_policy(note, LOG_KEY.verifier, policy).signed.checkpoint.size == size
    refused = 0
    if size >= 2:
        below = book.new_branch(held_leaves[: rng.randint(0, size - 1)]).grow(size + 1)
        same = book.new_branch(held_leaves[: size - 1]).grow(1)
        for status, allowed in ((book.send(url, below, size)[0], {422}),
                                (book.send(url, same, size)[0], {422}),
                                (book.send(url, book.new_branch(held_leaves), size, size - 1)[0], {400}),
                                (book.send(url, book.new_branch(held_leaves), size - 1, size - 1)[0], {409})):
            assert status in allowed, f"after the restart an inconsistent or smaller tree got {status}"
            refused += 1
    return {"refused": refused}


def run_trials(folder: Path, db_url: str, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    vkey = init_witness(str(folder), db_url)
    book = Book()
    truth = Log(LOG_KEY, "main")
    server = Served(str(folder))
    stats = {"kills": 0, "cosigned": 0, "refused_after_restart": 0}
    try:
        for _trial in range(TRIALS):
            stop = threading.Event()
            threads = [threading.Thread(target=log_thread, args=(server.url, book, truth, stop,
                                                                  random.Random(rng.random()))),
                       threading.Thread(target=forger_thread, args=(server.url, book, stop,
                                                                     random.Random(rng.random())))]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.05, 0.6))
            os.kill(server.proc.pid, signal.SIGKILL)  # the witness we started, by its pid
            server.proc.wait(10)
            stats["kills"] += 1
            stop.set()
            for t in threads:
                t.join(30)
            server = Served(str(folder))
            stats["refused_after_restart"] += check_after_restart(server.url, book, vkey, rng)["refused"]
            now = held(server.url)
            if now is not None:  # the log goes on from what the witness holds
                truth = book.new_branch(book.sent[(now[0], now[1])])
    finally:
        server.stop()
    stats["cosigned"] = len(book.cosigned)
    stats.update({(k if k.startswith("cut") else f"answers_{k}"): v for k, v in sorted(book.counts.items())})
    return stats


def test_witness_survives_kill_9(tmp_path: Path, db_url: str) -> None:
    """TRIALS SIGKILLs with submissions in flight: no answered cosignature lost, no inconsistent tree
    ever cosigned, inconsistent and smaller trees refused after every restart."""
    stats = run_trials(tmp_path / "w", db_url, seed=18)
    print(f"\nwitness kill -9 ({'postgres' if db_url.startswith('postgres') else 'sqlite'}): {stats}")
    assert stats["kills"] == TRIALS
    assert stats["cosigned"] > TRIALS  # the trials did cosign along the way
    assert stats["refused_after_restart"] >= 4 * (TRIALS - 1)
    assert stats.get("answers_422", 0) > 0 and stats.get("answers_409", 0) > 0
