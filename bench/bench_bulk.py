#!/usr/bin/env python3
"""A June-2025-sized bulk request end to end: filed, matched, reviewed, partly released.

For each backend and each size (default 130,000 and 1,300,000 lines), one fresh process runs
``demo.bulk_story.run`` — the request in bulk form (128-line chunks, 64 chunks per
transaction, openings sealed), the matcher over a synthetic master file (opening the request
block by block from the sealed store), the officer's review sheet written to CSV and read back
into a signed bulk review, two bulk releases (half the approved lines, then the rest) and a
correction — against a new SQLite file or a new PostgreSQL schema. Reported per run: seconds
per stage and in all, peak resident memory of that process (``ru_maxrss``), the ledger size,
how long a restarted process takes to replay the log into its rules engine;
the counts are checked against the line kinds (a mismatch fails the run). Each size but the
largest runs ``--small-repeats`` times (default 3). Then, per backend, time(large) / time(small)
beside the size ratio, from the medians (and the range over the runs): a 20-60 s run moves by
10-15 % from run to run on a shared machine, which alone would move a single pair's ratio by as much.

Goals: 1.3M lines in <= 10 min on SQLite and <= 15 min on PostgreSQL, peak memory
<= 2 GB, time(1.3M) <= 12 x time(130k) in the same run.

    .venv/bin/python bench/bench_bulk.py                               # both backends, 130k and 1.3M
    .venv/bin/python bench/bench_bulk.py --modes forked in-process     # and the one-process baseline
    .venv/bin/python bench/bench_bulk.py --sizes 2000 20000 --backends sqlite
    .venv/bin/python bench/bench_bulk.py --json bench/results/bulk.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("LEDGER_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def one_run(backend: str, n: int, seed: int, forked: bool = False) -> dict[str, object]:
    """Runs in a child process: the whole story once, returns its figures."""
    sys.path.insert(0, str(ROOT))
    from demo import bulk_story
    from ledger.config import Settings
    from ledger.core.keys import SignerKey
    from ledger.domain.masterfile import MasterFile
    from ledger.domain.service import DisclosureService
    from ledger.heap import settle_service_heap
    from ledger.policy import DEFAULT_POLICY
    from ledger.rules.engine import RuleEngine
    from ledger.sealed import SealedKeys, SealedStore
    from ledger.store.ledger import Ledger

    tmp = Path(tempfile.mkdtemp(prefix="bench-bulk-"))
    schema = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp}/ledger.sqlite3"
    else:
        schema = "bench_" + uuid.uuid4().hex[:12]
        url = f"{PG}?schema={schema}"
    try:
        settings = Settings.from_env(url, tmp)
        ledger = Ledger(settings, rules=RuleEngine())
        admin = SignerKey.generate("ledger.bench.example/admin")
        ledger.initialise("ledger.bench.example/disclosures", str(admin.verifier), DEFAULT_POLICY)
        keys = SealedKeys.random()
        service = DisclosureService(ledger, SealedStore(settings.db_url, keys), keys)
        settle_service_heap()  # as ``disclosure-ledger serve`` does once its app is built
        principals = bulk_story.register(service, admin)
        start = time.perf_counter()
        master = MasterFile.generate(max(2000, n // 10), seed)
        master_seconds = time.perf_counter() - start
        start = time.perf_counter()
        story = bulk_story.run(service, principals, master, n, tmp, seed=seed, forked=forked)
        total = time.perf_counter() - start
        expected = bulk_story.expected_counts(story.kinds)
        ok = story.counts == expected
        size = ledger.size()
        ledger.close()
        # A restarted process replays the log into its rules engine before its first append.
        start = time.perf_counter()
        again = Ledger(settings, rules=RuleEngine())
        again.synced_rules()
        replay = time.perf_counter() - start
        again.close()
        return {"backend": backend, "lines": n, "forked": forked, "seconds": round(total, 2), "stages": {
            k: round(v, 2) for k, v in story.seconds.items()}, "cpu_seconds": round(sum(story.cpu_seconds.values()), 2),
            "child_cpu_seconds": round(sum(story.child_cpu_seconds.values()), 2),
            "cpu_by_stage": {k: [round(story.cpu_seconds[k], 1), round(story.child_cpu_seconds[k], 1)]
                             for k in story.seconds},
            "service_waited": {k: round(v, 1) for k, v in story.waited_seconds.items()},
            # neither computing nor waiting for a principal: I/O (fsync, page reads), locks, being descheduled
            "service_other": {k: round(story.seconds[k] - story.cpu_seconds[k] - story.waited_seconds.get(k, 0.0), 1)
                              for k in story.seconds},
            "master_file_seconds": round(master_seconds, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            # the largest principal's process (forked: it shares pages with this one until written)
            "child_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
            "entries": size, "restart_replay_seconds": round(replay, 2), "counts": story.counts, "counts_ok": ok,
            "db_bytes": sum(p.stat().st_size for p in tmp.glob("ledger.sqlite3*")) if backend == "sqlite" else None}
    finally:
        if schema is not None:
            import psycopg

            with psycopg.connect(PG, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        for p in sorted(tmp.rglob("*"), reverse=True):
            p.unlink() if p.is_file() else p.rmdir()
        tmp.rmdir()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[130_000, 1_300_000])
    p.add_argument("--backends", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    p.add_argument("--seed", type=int, default=2025)
    p.add_argument("--json", type=Path)
    p.add_argument("--modes", nargs="+", default=["forked"], choices=["forked", "in-process"],
                   help="forked: the requester, matcher and officer build and sign in processes of their own "
                        "while the service appends (two cores); in-process: all in one process, taking turns")
    p.add_argument("--small-repeats", type=int, default=3,
                   help="runs of each size but the largest (the ratio takes their median: a short run's time "
                        "moves by 10-15 %% from run to run on a shared machine, a long one's much less)")
    p.add_argument("--child", nargs=3, metavar=("BACKEND", "N", "MODE"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(one_run(args.child[0], int(args.child[1]), args.seed, forked=args.child[2] == "forked")))
        return 0
    results = []
    for backend in args.backends:
        for mode in args.modes:
            for n in args.sizes:
                for _ in range(max(1, args.small_repeats) if n < max(args.sizes) else 1):
                    run = _child_run(backend, n, mode, args.seed)
                    if run is None:
                        return 1
                    results.append(run)
    failed = any(not r["counts_ok"] for r in results)
    for backend in args.backends:
        for mode in args.modes:
            runs = [r for r in results if r["backend"] == backend and r["forked"] == (mode == "forked")]
            sizes = sorted({r["lines"] for r in runs})
            if len(sizes) >= 2:
                small = [r["seconds"] for r in runs if r["lines"] == sizes[0]]
                large = [r["seconds"] for r in runs if r["lines"] == sizes[-1]]
                print(f"{backend} {mode}: time({sizes[-1]:,}) / time({sizes[0]:,}) = "
                      f"{statistics.median(large) / statistics.median(small):.2f} for a size ratio of "
                      f"{sizes[-1] / sizes[0]:.0f} (medians of {len(large)} and {len(small)} runs; "
                      f"{min(large) / max(small):.2f} to {max(large) / min(small):.2f} over the runs)")
        if len(args.modes) == 2:
            for n in args.sizes:
                pair = {r["forked"]: r["seconds"] for r in results if r["backend"] == backend and r["lines"] == n}
                if len(pair) == 2:
                    print(f"{backend} {n:,} lines: forked / in-process = {pair[True] / pair[False]:.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 1 if failed else 0


def _child_run(backend: str, n: int, mode: str, seed: int) -> dict[str, Any] | None:
    """One story in a fresh process (its peak memory is its own); printed as it ends. None if it failed."""
    out = subprocess.run([sys.executable, __file__, "--child", backend, str(n), mode, "--seed", str(seed)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        print(out.stderr[-3000:], file=sys.stderr)
        return None
    run: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{backend:8} {mode:10} {n:>9,} lines  {run['seconds']:8.1f} s  stages {run['stages']}"
          f"  CPU service {run['cpu_seconds']} s + principals {run['child_cpu_seconds']} s"
          f"  by stage {run['cpu_by_stage']}  service waiting for principals {run['service_waited']} s"
          f"  service neither (I/O, locks, descheduled) {run['service_other']} s"
          f"  peak {run['peak_rss_mb']} MB (+ principal {run['child_peak_rss_mb']} MB)"
          f"  restart replay {run['restart_replay_seconds']} s"
          f"  entries {run['entries']:,}  counts {'ok' if run['counts_ok'] else 'WRONG'}", flush=True)
    return run


if __name__ == "__main__":
    sys.exit(main())
