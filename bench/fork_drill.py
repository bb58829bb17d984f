"""Fork drill: can the operator, holding the log's own key, show two parties two histories?

Three witnesses on loopback (the real witness program, each with its own key and SQLite database),
a 2-of-3 witness policy. In each seeded trial a fresh log (SQLite, a new origin) grows and publishes
through the real publisher (quorum cosigned); a backup is taken partway. Then the operator, who holds
the log's checkpoint key and a principal's key, tries four forks:

  rewritten  the backup, then the same statements with one replaced: same size, another root
  truncated  the backup alone: a smaller tree
  restored   the backup, then other statements past the published size (first through the ledger's
             own software, which must refuse the append; then with that check removed)
  split      two continuations of the published tree, A to one witness and B to another, then both
             to every witness, in a random order

Each fork is signed with the log key and sent to every witness directly (every old size the operator
could claim, with the consistency proof its own tree gives). Checked in every trial: no forked
checkpoint reaches the quorum (in the split view: never both A and B); every witness refuses every
forked submission it must; the court's verifier (scripts/verify_ledger.py --bundle --policy) refuses
the fork's evidence bundle — and accepts the honest one; the monitor (scripts/monitor.py with the
policy) polling a ledger that serves the fork raises an alarm. Prints the counts; exit 1 on any miss.

    python bench/fork_drill.py --trials 50 --seed 1 [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import io
import json
import logging
import random
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT, ROOT / "scripts"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from ledger.authoring.trust import key_registration, signed  # noqa: E402
from ledger.config import Settings  # noqa: E402
from ledger.core.checkpoint import SignedCheckpoint, open_with_any  # noqa: E402
from ledger.core.cosignature import CosignerSigner  # noqa: E402
from ledger.core.errors import LedgerError  # noqa: E402
from ledger.core.keys import SignerKey  # noqa: E402
from ledger.core.proofs import consistency_path  # noqa: E402
from ledger.core.tlog_policy import parse_policy  # noqa: E402
from ledger.core.witness_protocol import ADD_CHECKPOINT, AddCheckpoint, parse_cosignature_answer, with_lines  # noqa: E402
from ledger.domain.bundle import write_bundle  # noqa: E402
from ledger.domain.refusals import AppendRefused  # noqa: E402
from ledger.policy import DEFAULT_POLICY  # noqa: E402
from ledger.store.ledger import Ledger  # noqa: E402
from ledger.witness.http import ThreadServer  # noqa: E402
from ledger.witness.service import Witness  # noqa: E402
from ledger.witness.state import WitnessStore  # noqa: E402

NAMES = ("tigta", "gao", "jct")
ATTACKS = ("rewritten", "truncated", "restored", "split")


@dataclass
class Counts:
    trials: int = 0
    published: int = 0                      # honest checkpoints the publisher got cosigned
    submissions: Counter[str] = field(default_factory=Counter)       # forked submissions, by attack
    answers: Counter[str] = field(default_factory=Counter)           # witness answers to them, by status
    cosigned_forks: Counter[str] = field(default_factory=Counter)    # cosignatures on a checkpoint that lost
    quorum_forks: Counter[str] = field(default_factory=Counter)      # forked checkpoints reaching quorum: 0
    ledger_refused: int = 0                 # appends the ledger's own software refused (restored)
    publisher_refused: int = 0              # rounds of the real publisher on a fork that published nothing
    verifier_refused: Counter[str] = field(default_factory=Counter)
    verifier_accepted_honest: int = 0
    alarms: Counter[str] = field(default_factory=Counter)            # monitor alarms, by attack:kind
    kept_refusals: Counter[str] = field(default_factory=Counter)     # refusals each witness kept, by status
    misses: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {k: (dict(v) if isinstance(v, Counter) else v) for k, v in self.__dict__.items()}


# ---- the witnesses --------------------------------------------------------------------
class Witnesses:
    def __init__(self, folder: Path) -> None:
        self.items: list[tuple[str, Witness, ThreadServer]] = []
        for name in NAMES:
            store = WitnessStore(f"sqlite:///{folder}/{name}.sqlite3")
            store.create_tables()
            witness = Witness(CosignerSigner.generate(f"witness.{name}.example/w1"), store)
            self.items.append((name, witness, ThreadServer(witness)))

    def policy(self, log_vkey: str) -> str:
        lines = [f"log {log_vkey}"] + [f"witness {n} {w.signer.verifier} {s.url}" for n, w, s in self.items]
        return "\n".join([*lines, f"group q 2 {' '.join(NAMES)}", "quorum q"]) + "\n"

    def add_log(self, origin: str, vkey: str) -> None:
        for _, w, _s in self.items:
            w.store.add_log_key(origin, vkey)

    def stop(self) -> None:
        for _, w, s in self.items:
            s.stop()
            w.store.close()


def submit(url: str, old: int, proof: list[bytes], note: str) -> tuple[int, bytes]:
    body = AddCheckpoint(old, tuple(proof), note).encode()
    request = urllib.request.Request(url.rstrip("/") + "/" + ADD_CHECKPOINT, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return int(r.status), r.read()
    except urllib.error.HTTPError as e:
        return int(e.code), e.read()


# ---- a ledger's view served to the monitor ------------------------------------------------
class View(http.server.ThreadingHTTPServer):
    note = ""
    ledger: Ledger | None = None


class _Handler(http.server.BaseHTTPRequestHandler):
    server: View

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path == "/v1/checkpoint":
            self._send(200, self.server.note.encode())
            return
        if url.path == "/v1/proofs/consistency" and self.server.ledger is not None:
            q = parse_qs(url.query)
            try:
                proof = self.server.ledger.consistency_proof(int(q["old"][0]), int(q["new"][0]))
            except (LedgerError, KeyError, ValueError) as e:
                self._send(400, json.dumps({"detail": str(e)}).encode())
                return
            self._send(200, json.dumps(proof).encode())
            return
        self._send(404, b"{}")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


# ---- one trial ------------------------------------------------------------------------------
@dataclass
class Trial:
    k: int
    rng: random.Random
    folder: Path
    witnesses: Witnesses
    view: View
    counts: Counts
    origin: str = ""
    requester: SignerKey | None = None
    admin: SignerKey | None = None
    cosignatures: dict[tuple[str, str], list[Any]] = field(default_factory=dict)  # (fork, witness) -> lines

    def settings(self, name: str, policy: Path | None = None) -> Settings:
        return Settings(f"sqlite:///{self.folder}/{name}.sqlite3", self.folder / "keys",
                        self.folder / f"{name}.last-checkpoint.txt", witness_policy=policy)

    def statement(self, tag: str) -> str:
        assert self.requester is not None
        return signed([self.requester], "request", {"drill": tag, "n": self.rng.randrange(10**9)})

    def copy_db(self, src: str, dst: str) -> None:
        with sqlite3.connect(self.folder / f"{src}.sqlite3") as a, sqlite3.connect(self.folder / f"{dst}.sqlite3") as b:
            a.backup(b)

    def miss(self, what: str) -> None:
        self.counts.misses.append(f"trial {self.k}: {what}")


def sign_fork(t: Trial, name: str) -> tuple[Ledger, SignedCheckpoint]:
    """The operator's fork ``name``, opened by the ledger's code without a policy; its checkpoint signed."""
    fork = Ledger(t.settings(name))
    fork.inline_checkpoints = False
    signed_cp = fork.publish(force=True, lease_timeout=10)
    assert signed_cp is not None
    return fork, signed_cp


def attack_witnesses(t: Trial, attack: str, fork: Ledger, cp: SignedCheckpoint, olds: list[int],
                     only: list[int] | None = None) -> list[str]:
    """Send the forked checkpoint to the witnesses with every old size in ``olds``; the names that cosigned."""
    note = cp.encode()
    size = cp.checkpoint.size
    cosigned = []
    for i, (name, _witness, server) in enumerate(t.witnesses.items):
        if only is not None and i not in only:
            continue
        for old in olds:
            proof = list(fork._with_ranges(lambda rh, o=old: consistency_path(o, size, rh))) if 0 < old < size else []
            status, body = submit(server.url, old, proof, note)
            t.counts.submissions[attack] += 1
            t.counts.answers[str(status)] += 1
            if status == 200:
                cosigned.append(name)
                t.cosignatures[(attack, name)] = parse_cosignature_answer(body)
                break
    return cosigned


def verifier_refuses(t: Trial, attack: str, fork: Ledger, note: str, request_id: str, policy: Path,
                     honest: bool = False) -> None:
    import verify_ledger

    out = t.folder / f"bundle-{attack}"
    shutil.rmtree(out, ignore_errors=True)
    cp = open_with_any(note, [k.verifier for k in fork.keys.checkpoint])
    write_bundle(fork, request_id, out, checkpoint=cp)
    (t.folder / "root.vkey").write_text(f"{fork.trust_root()}\n")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = verify_ledger.main(["--bundle", str(out), "--vkey", str(t.folder / "root.vkey"), "--policy",
                                   str(policy), "--json", "--workers", "1"])
    if honest:
        if code == 0:
            t.counts.verifier_accepted_honest += 1
        else:
            t.miss("the court's verifier refused the honest bundle")
    elif code == 1:
        t.counts.verifier_refused[attack] += 1
    else:
        t.miss(f"{attack}: the court's verifier answered {code} for the forked bundle")


def monitor_alarms(t: Trial, attack: str, honest: tuple[str, Ledger] | None, fork: tuple[str, Ledger],
                   policy: Path) -> None:
    """The monitor, given the policy, polls a ledger serving the fork (after the honest checkpoint, if given)."""
    import monitor

    archive = t.folder / f"monitor-{attack}"
    shutil.rmtree(archive, ignore_errors=True)
    vkey = monitor._read_vkey(str(fork[1].trust_root()))
    m = monitor.Monitor(f"http://127.0.0.1:{t.view.server_address[1]}", vkey, archive, timeout=10,
                        policy=monitor._read_policy(str(policy)))
    if honest is not None:
        t.view.note, t.view.ledger = honest
        m.poll()  # the monitor has seen the honest published checkpoint
    t.view.note, t.view.ledger = fork
    try:
        m.poll()
    except monitor.Alarm as e:
        t.counts.alarms[f"{attack}:{e.kind}"] += 1
        return
    t.miss(f"{attack}: the monitor raised no alarm")


def run_trial(t: Trial) -> None:
    rng, counts = t.rng, t.counts
    t.origin = f"drill-{t.k}.fork-drill.example/log"
    t.admin = SignerKey.generate(t.origin + "/admin")
    t.requester = SignerKey.generate("drill.example.gov/requester")
    honest = Ledger(t.settings("honest"))
    honest.initialise(t.origin, str(t.admin.verifier), DEFAULT_POLICY)
    honest.append(key_registration(t.admin, t.requester, ["requester"]))
    request_id = honest.append(t.statement("the request")).statement_id
    for i in range(rng.randint(2, 8)):
        honest.append(t.statement(f"early {i}"))
    root = str(honest.trust_root())
    honest.close()
    t.witnesses.add_log(t.origin, root)
    policy = t.folder / "policy"
    policy.write_text(t.witnesses.policy(root))
    t.copy_db("honest", "backup")
    with Ledger(t.settings("honest", policy)) as ledger:
        backup_size = ledger.size()
        ledger.inline_checkpoints = False
        for i in range(rng.randint(2, 8)):
            ledger.append(t.statement(f"honest {i}"))
        published = ledger.publish(lease_timeout=10)
        if published is None:
            t.miss(f"the honest checkpoint was not published: {ledger.publisher.status().describe()}")
            return
        counts.published += 1
        size = published.checkpoint.size
        honest_note = published.encode()
        verifier_refuses(t, "honest", ledger, honest_note, request_id, policy, honest=True)
        honest_statements = [ledger.entry(i) for i in range(backup_size, size)]

        # rewritten: the backup, then the same statements with one of them replaced
        t.copy_db("backup", "rewritten")
        fork = Ledger(t.settings("rewritten"))
        replaced = rng.randrange(backup_size, size)
        from ledger.core.entry import parse_entry

        for i, data in enumerate(honest_statements, start=backup_size):
            fork.append(t.statement("rewritten") if i == replaced else parse_entry(data).statement)
        fork.close()
        fork, cp = sign_fork(t, "rewritten")
        _fork_round(t, "rewritten", fork, cp, [0, backup_size, size], (honest_note, ledger), request_id, policy)
        fork.close()

        # truncated: the backup alone
        t.copy_db("backup", "truncated")
        fork, cp = sign_fork(t, "truncated")
        _fork_round(t, "truncated", fork, cp, [0, cp.checkpoint.size, size], (honest_note, ledger), request_id, policy)
        fork.close()

        # restored: the backup, then other statements past the published size
        t.copy_db("backup", "restored")
        with Ledger(t.settings("restored", policy)) as software:  # the ledger's own code, policy configured
            try:
                software.append(t.statement("restored, honest code"))
                t.miss("restored: the ledger's own software took an append below the witnesses' size")
            except AppendRefused:
                counts.ledger_refused += 1
        fork = Ledger(t.settings("restored"))  # the operator removed the policy
        for i in range(size - backup_size + rng.randint(1, 4)):
            fork.append(t.statement(f"restored {i}"))
        fork.close()
        with Ledger(t.settings("restored", policy)) as software:  # the real publisher on the fork
            software.inline_checkpoints = False
            try:
                if software.publish(lease_timeout=10) is None:
                    counts.publisher_refused += 1
                else:
                    t.miss("restored: the publisher published a fork")
            except LedgerError:
                counts.publisher_refused += 1
        fork, cp = sign_fork(t, "restored")
        _fork_round(t, "restored", fork, cp, [0, backup_size, size], (honest_note, ledger), request_id, policy)
        fork.close()

        # split view: A (this log, grown) to one witness, B (another continuation) to another
        t.copy_db("honest", "split_b")
        extra = rng.randint(1, 4)
        for i in range(extra):
            ledger.append(t.statement(f"A {i}"))
    a_fork, a_signed = sign_fork(t, "honest")
    b = Ledger(t.settings("split_b"))
    for i in range(extra):
        b.append(t.statement(f"B {i}"))
    b.close()
    b_fork, b_signed = sign_fork(t, "split_b")
    _split(t, a_fork, a_signed, b_fork, b_signed, size, request_id, policy)
    a_fork.close()
    b_fork.close()


def _fork_round(t: Trial, attack: str, fork: Ledger, cp: SignedCheckpoint, olds: list[int],
                honest: tuple[str, Ledger], request_id: str, policy: Path) -> None:
    cosigned = attack_witnesses(t, attack, fork, cp, sorted(set(olds)))
    if cosigned:
        t.counts.cosigned_forks[attack] += len(cosigned)
        t.miss(f"{attack}: witnesses {cosigned} cosigned a fork")
    lines = [line for name in cosigned for line in t.cosignatures[(attack, name)]]
    note = with_lines(cp.encode(), lines)
    if parse_policy(policy.read_bytes()).satisfied(set(cosigned)):
        t.counts.quorum_forks[attack] += 1
    verifier_refuses(t, attack, fork, note, request_id, policy)
    monitor_alarms(t, attack, honest, (note, fork), policy)


def _split(t: Trial, a_fork: Ledger, a: SignedCheckpoint, b_fork: Ledger, b: SignedCheckpoint, size: int,
           request_id: str, policy: Path) -> None:
    rng = t.rng
    first_a, first_b = rng.sample(range(3), 2)
    got: dict[str, list[str]] = {"A": [], "B": []}
    olds = [size, a.checkpoint.size]  # from the published size, then (refused 409) from the size held
    got["A"] += attack_witnesses(t, "split", a_fork, a, olds, only=[first_a])
    t.cosignatures.update({("A", n): t.cosignatures[("split", n)] for n in got["A"]})
    got["B"] += attack_witnesses(t, "split", b_fork, b, olds, only=[first_b])
    t.cosignatures.update({("B", n): t.cosignatures[("split", n)] for n in got["B"]})
    rest = [("A", i) for i in range(3) if i != first_a] + [("B", i) for i in range(3) if i != first_b]
    rng.shuffle(rest)
    for which, i in rest:
        fork, cp = (a_fork, a) if which == "A" else (b_fork, b)
        names = attack_witnesses(t, "split", fork, cp, olds, only=[i])
        got[which] += names
        t.cosignatures.update({(which, n): t.cosignatures[("split", n)] for n in names})
    pol = parse_policy(policy.read_bytes())
    met = {w: pol.satisfied(set(n)) for w, n in got.items()}
    if met["A"] and met["B"]:
        t.counts.quorum_forks["split"] += 1
        t.miss("split: both A and B reached the quorum")
        return
    for name in NAMES:
        if name in got["A"] and name in got["B"]:
            t.miss(f"split: witness {name} cosigned both A and B")
    lost = "B" if met["A"] else "A"  # the one the world did not get cosigned is the fork
    t.counts.cosigned_forks["split"] += len(got[lost])
    fork, cp = (b_fork, b) if lost == "B" else (a_fork, a)
    note = with_lines(cp.encode(), [x for n in got[lost] for x in t.cosignatures[(lost, n)]])
    verifier_refuses(t, "split", fork, note, request_id, policy)
    # the ledger serves the continuation that lost; the witnesses hold the other one
    monitor_alarms(t, "split", None, (note, fork), policy)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=50)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", type=Path, help="write the counts as JSON here")
    args = p.parse_args(argv)
    if args.trials < 1:
        print("error: --trials must be at least 1", file=sys.stderr)
        return 2
    logging.getLogger("ledger").setLevel(logging.CRITICAL)  # the refusals below are the point; counted, not logged
    counts = Counts()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fork-drill-") as tmp:
        witnesses = Witnesses(Path(tmp))
        view = View(("127.0.0.1", 0), _Handler)
        threading.Thread(target=view.serve_forever, daemon=True).start()
        try:
            for k in range(args.trials):
                folder = Path(tmp) / f"trial-{k}"
                folder.mkdir()
                trial = Trial(k, random.Random(f"{args.seed}/{k}"), folder, witnesses, view, counts)
                run_trial(trial)
                counts.trials += 1
                shutil.rmtree(folder, ignore_errors=True)
            for name, witness, _server in witnesses.items:  # the evidence each witness kept
                for refusal in witness.store.refusals():
                    counts.kept_refusals[f"{name}:{refusal.status}"] += 1
        finally:
            view.shutdown()
            witnesses.stop()
    elapsed = time.monotonic() - started
    report = counts.as_json() | {"seconds": round(elapsed, 1), "seed": args.seed}
    print(json.dumps(report, indent=2, sort_keys=True))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    return 1 if counts.misses or sum(counts.quorum_forks.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
