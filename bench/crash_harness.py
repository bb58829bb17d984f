"""Crash safety: SIGKILL a writer at random moments; nothing acknowledged is ever lost or changed.

    python bench/crash_harness.py --trials 20 --seed 1 --backends sqlite,postgres
    python bench/crash_harness.py --target service --workers 1,2 --trials 20 --seed 1 --backends sqlite,postgres

A child process (the in-process writer: ``Ledger.append`` from one thread, ``Ledger.append_batch``
of 2-8 statements from another, so group commits happen too) appends pre-signed statements of a
registered principal and writes each acknowledged (pool position, index, statement id, leaf hash)
to its stdout pipe *after* the call returned. The parent kills it with SIGKILL after a seeded
random delay, then checks, with a fresh process-side Ledger:

- every acknowledged entry is present and byte-identical (same leaf hash and statement id at the
  same index) — else it counts as *lost* (missing) or a *fork* (something else at that index);
- ``fsck`` passes (chain, times, signatures, stored leaf hashes and tree nodes, checkpoints);
- no statement id appears twice, and indices are contiguous;
- the outside copy of the last signed checkpoint is not larger than the log and has its root.

Then it restarts a writer from the first unacknowledged statement (statements committed but not
acknowledged before the kill are resubmitted: an exact resubmission must return the original
index) and continues. PostgreSQL: ``--pg-url`` (default LEDGER_TEST_POSTGRES_URL or
postgresql://postgres@127.0.0.1:5432/test); a fresh schema is used and dropped.

``--target service`` (bench/crash_service.py): the real ``disclosure-ledger serve`` (rules engine,
sealed store, background checkpoint signer and projection follower; once per ``--workers`` count,
each on a fresh database) in its own process group. CLIENTS HTTP threads POST validly signed
one-line requests with their openings; acknowledged = a 200/201 answer with index and leaf hash. The
whole process group is SIGKILLed a seeded delay after the first request left, with requests in
flight; the same checks run on the database; then the service is restarted and, before new load:
every projection reaches exactly its head (the views' request rows are the log's requests, each
once, at its index), and a seeded acknowledged statement resubmitted answers 200 ``duplicate`` with
its original index and leaf hash. Requests unanswered at the kill are resubmitted first (committed
ones must come back as their entry, not a second one). At the end ``disclosure-ledger verify`` must
pass.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ledger.authoring.trust import key_registration, signed  # noqa: E402
from ledger.config import Settings  # noqa: E402
from ledger.core.entry import parse_entry  # noqa: E402
from ledger.core.keys import SignerKey  # noqa: E402
from ledger.core.statement import parse_statement  # noqa: E402
from ledger.policy import DEFAULT_POLICY  # noqa: E402
from ledger.store.checkpoints import CheckpointKeeper  # noqa: E402
from ledger.store.ledger import Ledger  # noqa: E402

ORIGIN = "ledger.crash.example/disclosures"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
SETUP_ENTRIES = 2  # genesis and the principal's registration
PER_TRIAL = 4000  # statements pre-signed per trial: more than a writer can append before its kill, even alone
# on a quiet machine (a writer that runs out of statements exits and is not killed: the trial then fails)


# ---- the writer (child process) ------------------------------------------------------
def writer_main(db_url: str, key_dir: str, pool_file: str, skip: str, seed: int) -> None:
    settings = replace(Settings(db_url, Path(key_dir), Path(key_dir) / "last-checkpoint.txt"), create_tables=False)
    pool = Path(pool_file).read_text(encoding="utf-8").splitlines()
    acked = {int(p) for p in skip.split(",") if p}
    todo = [(i, json.loads(line)) for i, line in enumerate(pool) if i not in acked]
    lock = threading.Lock()
    out = sys.stdout

    def take(k: int) -> list[tuple[int, str]]:
        with lock:
            got = todo[:k]
            del todo[:k]
            return got

    def ack(positions: list[int], results: list[Any]) -> None:
        with lock:
            for p, a in zip(positions, results, strict=True):
                out.write(f"{p} {a.index} {a.statement_id} {a.leaf_hash.hex()} {int(a.duplicate)}\n")
            out.flush()

    with Ledger(settings) as ledger:
        out.write("ready\n")
        out.flush()

        def singles() -> None:
            while part := take(1):
                ack([part[0][0]], [ledger.append(part[0][1])])

        def batches() -> None:
            rng = random.Random(seed)
            while part := take(rng.randint(2, 8)):
                ack([p for p, _ in part], ledger.append_batch([n for _, n in part]))

        threads = [threading.Thread(target=singles), threading.Thread(target=batches)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        out.write("done\n")
        out.flush()


# ---- the parent -----------------------------------------------------------------------
@dataclass
class BackendResult:
    backend: str
    target: str = "writer"  # or "service": `disclosure-ledger serve` over HTTP
    workers: int = 0  # service: uvicorn workers
    trials: int = 0
    kills: int = 0
    acknowledged: int = 0  # distinct statements acknowledged, all checked after every kill
    ack_checks: int = 0  # (acknowledged entry, check) pairs: each ack re-checked after every later kill
    resubmitted_duplicates: int = 0  # acks with duplicate=True (committed before a kill, resubmitted after)
    unacknowledged_committed: int = 0  # in flight at a kill, committed, acknowledged only on resubmission
    unacknowledged_at_end: int = 0  # committed by the last writer but never acknowledged (not resubmitted)
    lost: int = 0
    forks: int = 0
    duplicate_ids: int = 0
    fsck_failures: int = 0
    entries: int = 0
    in_flight_at_kill: int = 0  # service: requests sent and not yet answered when the service was killed
    server_errors: int = 0  # service: 5xx answers (resubmitted)
    batched: int = 0  # service: statements first acknowledged in an answer of POST /v1/statements/batch
    opening_checks: int = 0  # service: kills after which every logged request's openings were sealed, nothing else
    openings_cut_short: int = 0  # service: after the last kill, openings sealed for requests it cut short (kept
    #                               until the request is resubmitted; FORMAT § 17.3)
    view_checks: int = 0  # service: restarts after which the projections reached exactly the head
    replays: int = 0  # service: acknowledged statements resubmitted after a restart (must answer 200, same entry)
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.forks or self.duplicate_ids or self.fsck_failures or self.problems)


def _setup(settings: Settings) -> SignerKey:
    with Ledger(settings) as ledger:
        admin = SignerKey.generate(ORIGIN + "/admin")
        ledger.initialise(ORIGIN, str(admin.verifier), DEFAULT_POLICY)
        key = SignerKey.generate("agency.crash.example/official")
        ledger.append(key_registration(admin, key, ["requester"]))
    return key


def _start_writer(
    settings: Settings, pool: Path, acked: set[int], seed: int
) -> tuple[subprocess.Popen[str], list[str]]:
    skip = ",".join(str(p) for p in sorted(acked))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--writer", settings.db_url, str(settings.key_dir),
           str(pool), skip, str(seed)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.endswith("\n"):  # a line cut by the kill was never acknowledged
                lines.append(line[:-1])

    threading.Thread(target=read, daemon=True).start()
    return proc, lines


def _check(settings: Settings, acks: dict[str, tuple[int, str]], result: BackendResult) -> None:
    with Ledger(replace(settings, create_tables=False)) as ledger:
        entries = list(ledger.iter_entries())
        result.entries = len(entries)
        result.unacknowledged_at_end = len(entries) - SETUP_ENTRIES - len(acks)
        if [i for i, _ in entries] != list(range(len(entries))):
            result.problems.append("indices are not contiguous")
        leaves = [parse_entry(d) for _, d in entries]
        ids = [parse_statement(e.statement).id for e in leaves]
        result.duplicate_ids = sum(c - 1 for c in Counter(ids).values() if c > 1)
        for sid, (index, leaf_hex) in acks.items():
            result.ack_checks += 1
            if index >= len(leaves):
                result.lost += 1
                result.problems.append(f"acknowledged entry {index} ({sid}) is missing")
            elif leaves[index].leaf_hash.hex() != leaf_hex or ids[index] != sid:
                result.forks += 1
                result.problems.append(f"entry {index} differs from the acknowledged one")
        report = ledger.fsck()
        if not report.ok:
            result.fsck_failures += 1
            result.problems.append(f"fsck: {report.problems[0]}")
        last = CheckpointKeeper(settings.checkpoint_path, ledger.keys.checkpoint).last_signed()
        if last is not None:
            cp = last.checkpoint
            if cp.size > len(leaves):
                result.lost += cp.size - len(leaves)
                result.problems.append(f"a checkpoint of {cp.size} was signed over a log of {len(leaves)}")
            elif ledger.root_at(cp.size) != cp.root:
                result.forks += 1
                result.problems.append(f"the root at size {cp.size} differs from the signed checkpoint")


def run_backend(backend: str, db_url: str, work: Path, trials: int, seed: int,
                max_delay: float = 0.8, log: Any = None) -> BackendResult:
    """Run ``trials`` kill-and-check rounds against one fresh database."""
    started = time.monotonic()
    rng = random.Random(f"{seed}/{backend}")
    key_dir = work / f"{backend}-keys"
    settings = Settings(db_url, key_dir, key_dir / "last-checkpoint.txt")
    key = _setup(settings)
    pool = work / f"{backend}-pool.jsonl"
    with open(pool, "w", encoding="utf-8") as f:
        for i in range(trials * PER_TRIAL):
            f.write(json.dumps(signed([key], "request", {"crash": i}, statement_id=f"crash-{seed}-{i}")) + "\n")
    result = BackendResult(backend)
    acks: dict[str, tuple[int, str]] = {}
    acked_positions: set[int] = set()
    for trial in range(trials):
        result.trials += 1
        proc, lines = _start_writer(settings, pool, acked_positions, rng.randrange(1 << 30))
        deadline = time.monotonic() + 120
        while "ready" not in lines and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if "ready" not in lines:
            proc.kill()
            err = proc.stderr.read() if proc.stderr else ""
            result.problems.append(f"trial {trial}: the writer did not start: {err[-400:]}")
            break
        time.sleep(rng.uniform(0.02, max_delay))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            result.kills += 1
        proc.wait()
        if proc.returncode != -signal.SIGKILL:
            err = proc.stderr.read() if proc.stderr else ""
            result.problems.append(f"trial {trial}: the writer exited by itself (code {proc.returncode}) before "
                                   f"the kill: {'ran out of statements' if 'done' in lines else err[-400:]}")
        time.sleep(0.05)  # let the reader thread drain the pipe
        for line in lines:
            if line in ("ready", "done"):
                continue
            pos, index, sid, leaf, dup = line.split(" ")
            acked_positions.add(int(pos))
            earlier = acks.get(sid)
            if earlier is not None and earlier != (int(index), leaf):
                result.forks += 1
                result.problems.append(f"{sid} acknowledged at {earlier[0]} and again at {index}")
            if earlier is None:
                acks[sid] = (int(index), leaf)
                if dup == "1":
                    result.unacknowledged_committed += 1
            if dup == "1":
                result.resubmitted_duplicates += 1
        result.acknowledged = len(acks)
        _check(settings, acks, result)
        if log:
            log(f"{backend} trial {trial + 1}/{trials}: {len(acks)} acknowledged, {result.entries} entries, "
                f"lost {result.lost}, forks {result.forks}")
        if not result.ok:
            break
    result.seconds = round(time.monotonic() - started, 1)
    return result


def run(trials: int, seed: int, backends: list[str], pg_url: str | None = None, work: Path | None = None,
        max_delay: float = 0.8, log: Any = None, target: str = "writer",
        workers: tuple[int, ...] = (1,)) -> list[BackendResult]:
    """Each backend on a fresh database: the in-process writer, or the service once per workers count."""
    results = []
    with tempfile.TemporaryDirectory(prefix="crash-") as tmp:
        base = work or Path(tmp)
        runs = [(b, 0) for b in backends] if target == "writer" else [(b, w) for b in backends for w in workers]
        for backend, n in runs:
            where = base / f"{backend}-{target}-{n}"
            where.mkdir(parents=True)

            def one(db_url: str, where: Path = where, backend: str = backend, n: int = n) -> BackendResult:
                if target == "writer":
                    return run_backend(backend, db_url, where, trials, seed, max_delay, log)
                from crash_service import run_service_backend  # (it imports this module's checks)

                return run_service_backend(backend, db_url, where, trials, seed, n, max_delay, log)

            if backend == "sqlite":
                results.append(one(f"sqlite:///{where}/crash.sqlite3"))
            elif backend == "postgres":
                import psycopg

                url = pg_url or os.environ.get("LEDGER_TEST_POSTGRES_URL") or DEFAULT_PG
                schema = "crash_" + uuid.uuid4().hex[:12]
                try:
                    results.append(one(f"{url}?schema={schema}"))
                finally:
                    with psycopg.connect(url, autocommit=True) as conn:
                        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            else:
                raise SystemExit(f"unknown backend {backend!r}: sqlite or postgres")
    return results


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--writer":
        writer_main(*argv[1:5], int(argv[5]))
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=20, help="kills per backend (default 20)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--backends", default="sqlite,postgres")
    p.add_argument("--pg-url", help="PostgreSQL URL (default LEDGER_TEST_POSTGRES_URL or the local test database)")
    p.add_argument("--max-delay", type=float, help="kill after uniform(0.02, this) s of appending "
                   "(default 0.8 for the writer, 2.0 for the service)")
    p.add_argument("--target", choices=["writer", "service"], default="writer",
                   help="writer: the in-process writer (default); service: `disclosure-ledger serve` over HTTP")
    p.add_argument("--workers", default="1,2", help="service: uvicorn worker counts, one run each (default 1,2)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    max_delay = args.max_delay or (0.8 if args.target == "writer" else 2.0)
    results = run(args.trials, args.seed, args.backends.split(","), args.pg_url, max_delay=max_delay,
                  log=lambda m: print(m, file=sys.stderr), target=args.target,
                  workers=tuple(int(w) for w in args.workers.split(",")))
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=1))
    else:
        print(f"{'backend':18} {'trials':>6} {'kills':>5} {'acked':>6} {'checks':>7} {'in-flight':>9} "
              f"{'lost':>4} {'forks':>5} {'dup ids':>7} {'fsck':>4} {'entries':>7} {'s':>6}")
        for r in results:
            print(f"{r.backend:18} {r.trials:>6} {r.kills:>5} {r.acknowledged:>6} {r.ack_checks:>7} "
                  f"{r.unacknowledged_committed:>9} {r.lost:>4} {r.forks:>5} {r.duplicate_ids:>7} "
                  f"{'ok' if not r.fsck_failures else 'FAIL':>4} {r.entries:>7} {r.seconds:>6}")
            if r.target == "service":
                print(f"{'':18} requests in flight at the kills {r.in_flight_at_kill}, 5xx {r.server_errors}, "
                      f"acknowledged through batches {r.batched}, sealed store checked after {r.opening_checks} kills "
                      f"({r.openings_cut_short} openings of requests cut short by the last), "
                      f"restarts with views at exactly the head {r.view_checks}, replays answered 200 same entry "
                      f"{r.replays - r.forks if r.replays else 0}/{r.replays}")
            for problem in r.problems[:10]:
                print(f"  {r.backend}: {problem}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
