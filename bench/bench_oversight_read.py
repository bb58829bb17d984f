#!/usr/bin/env python3
"""The oversight taxpayer read through the API, inspection write included, at ``--rows`` view rows.

Goal: p99 <= 100 ms at 10 million projection rows.

Per backend (``--backends sqlite,postgres``: both in the same run), one ledger with the § 6103
rules engine; its views are loaded with ``--rows`` synthetic request lines and as many released
lines (``bench_projections.load``: COPY on PostgreSQL, executemany on SQLite, indexes built
after), the synthetic taxpayers being the pseudonyms of fictional TINs under this run's key — so
a lookup by TIN finds their rows. Then ``--lookups`` reads of ``POST /v1/oversight/taxpayer``
per backend through the app in process (Starlette's TestClient: routing, validation, token
check, the inspection signed, sealed and appended, the views caught up to it, the history page
read) — 10 % on "hot" taxpayers with ``--hot-rows`` rows each, the rest on random ones. No
network hop (no uvicorn). With both backends, their apps run side by side and the reads
alternate in rounds of ``--round`` (the order flips every round), so load from other
processes falls on both alike.

Printed per backend: setup seconds (ledger + bulk load + indexes), p50/p99/max, this process's
CPU per read (both apps' background threads included), and the load average before and after.
PostgreSQL: a fresh schema ``bench_<random>`` per backend, dropped at the end — also on an
error, Ctrl-C or SIGTERM.

    .venv/bin/python bench/bench_oversight_read.py --rows 1000000
    .venv/bin/python bench/bench_oversight_read.py --rows 10000000 --backends postgres
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_projections as bp  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from api.app import create_app  # noqa: E402
from api.settings import ApiSettings  # noqa: E402
from api.tokens import TokenStore  # noqa: E402
from ledger.config import Settings  # noqa: E402
from ledger.core.keys import SignerKey  # noqa: E402
from ledger.policy import DEFAULT_POLICY  # noqa: E402
from ledger.rules.engine import RuleEngine  # noqa: E402
from ledger.sealed import SealedKeys  # noqa: E402
from ledger.store.ledger import Ledger  # noqa: E402
from projections.db import open_database  # noqa: E402

ORIGIN = "ledger.bench.example/disclosures"


def tin(kind: str, i: int) -> str:
    return f"{8 if kind == 'hot' else 9}{i:08d}"


@dataclass
class Side:
    """One backend: its ledger, app client and the figures measured on it."""

    name: str
    client: TestClient
    headers: dict[str, str]
    setup: float
    times: list[float] = field(default_factory=list)
    cpu: float = 0.0
    found: int = 0

    def read(self, who: str, purpose: str = "bench") -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        r = self.client.post("/v1/oversight/taxpayer", json={"tin": who, "purpose": purpose}, headers=self.headers)
        if purpose == "bench":
            self.times.append(time.perf_counter() - t0)
            self.cpu += time.process_time() - c0
        body = r.json()
        assert r.status_code == 200 and body["caught_up"], r.text
        self.found += purpose == "bench" and any(e["kind"] != "inspection" for e in body["items"])


def _more_maintenance_memory(conn: Any, _record: Any) -> None:
    conn.autocommit = True  # a session setting, outside any transaction the pool would roll back
    conn.execute("SET maintenance_work_mem = '1GB'")
    conn.autocommit = False


def open_side(stack: ExitStack, name: str, tmp: Path, keys: SealedKeys, args: argparse.Namespace) -> Side:
    backend = bp.Backend(name, tmp)
    stack.callback(backend.cleanup)  # the schema goes, whatever happens after it is made
    t0 = time.perf_counter()
    url = backend.url()
    settings = Settings(url, tmp / f"keys-{name}", tmp / f"keys-{name}" / "last-checkpoint.txt")
    ledger = Ledger(settings, rules=RuleEngine())
    stack.callback(ledger.close)
    admin = SignerKey.generate(ORIGIN + "/admin")
    ledger.initialise(ORIGIN, str(admin.verifier), DEFAULT_POLICY)
    views = open_database(url)
    if not views.is_sqlite:  # index builds over 10 M rows sort in memory rather than on disk
        sa.event.listen(views.engine, "connect", _more_maintenance_memory)
    print(f"{name}: loading {args.rows:,} rows …", flush=True)
    loaded = bp.load(views, args.rows, args.hot_rows)
    views.close()
    store = TokenStore(url)
    token = store.create("bench.example/auditor", "oversight", timedelta(hours=6))[0]
    store.close()
    setup = time.perf_counter() - t0
    print(f"{name}: set up in {setup:.1f}s (bulk load and indexes {loaded:.1f}s)", flush=True)
    # one token reads far past the per-token lookup limit here: lift it (the limit itself costs one upsert a read)
    client = TestClient(create_app(ApiSettings(settings, taxpayer_lookups=10**9), keys, ledger=ledger))
    client.__enter__()
    stack.callback(client.__exit__, None, None, None)
    return Side(name, client, {"Authorization": f"Bearer {token}"}, setup)


def report(side: Side, rows: int) -> dict[str, Any]:
    times = side.times
    p99 = bp.p99(times)
    out = {"backend": side.name, "rows": rows, "reads": len(times), "setup_s": round(side.setup, 1),
           "p50_ms": round(statistics.median(times) * 1e3, 1), "p99_ms": round(p99 * 1e3, 1),
           "max_ms": round(max(times) * 1e3, 1), "cpu_ms_per_read": round(side.cpu / len(times) * 1e3, 1),
           "found": side.found, "met": p99 <= 0.1}
    print(f"  {side.name:8s} {rows:>12,} rows: p50 {out['p50_ms']:6.1f} ms  p99 {out['p99_ms']:6.1f} ms  "
          f"max {out['max_ms']:6.1f} ms  CPU {out['cpu_ms_per_read']:5.1f} ms/read  set-up {out['setup_s']:6.1f} s  "
          f"({side.found} of {len(times)} reads found rows)  goal p99 <= 100 ms: {'met' if out['met'] else 'NOT met'}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000, help="request lines (and released lines) in the views")
    ap.add_argument("--hot-rows", type=int, default=50, help="rows per hot taxpayer")
    ap.add_argument("--lookups", type=int, default=500, help="timed reads per backend")
    ap.add_argument("--round", type=int, default=50, help="reads per backend per alternating round")
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--backend", choices=["sqlite", "postgres"], help="one backend only (as --backends)")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    names = [args.backend] if args.backend else [b for b in args.backends.split(",") if b]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: the finally blocks drop the schemas
    keys = SealedKeys.random()
    plain_hx = bp.hx

    def hx(*parts: Any) -> str:  # the synthetic taxpayers are pseudonyms of fictional TINs
        if len(parts) == 2 and parts[0] in ("hot", "cold"):
            return keys.pseudonym(tin(parts[0], parts[1]))
        return plain_hx(*parts)

    bp.hx = hx
    results = []
    with tempfile.TemporaryDirectory(prefix="dl-bench-read-") as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        sides = [open_side(stack, name, tmp, keys, args) for name in names]
        rng = random.Random(11)
        cold = min(max(1, args.rows // 3), 2_000_000)
        who = [tin("hot", rng.randrange(bp.HOT)) if i % 10 == 0 else tin("cold", rng.randrange(cold))
               for i in range(args.lookups)]
        for side in sides:
            for t in who[:20]:
                side.read(t, "warm-up")
        load0, wall0, cpu0 = os.getloadavg(), time.perf_counter(), time.process_time()
        for k, start in enumerate(range(0, len(who), args.round)):
            for side in (sides if k % 2 == 0 else sides[::-1]):
                for t in who[start:start + args.round]:
                    side.read(t)
        wall, cpu, load1 = time.perf_counter() - wall0, time.process_time() - cpu0, os.getloadavg()
        print(f"taxpayer read through the API, {args.lookups} reads per backend, inspection write included "
              f"(load average {load0[0]:.2f} before, {load1[0]:.2f} / {load1[1]:.2f} / {load1[2]:.2f} after; "
              f"{os.cpu_count()} CPUs; reads: {wall:.1f} s wall, {cpu:.1f} s CPU of this process):")
        results = [report(side, args.rows) for side in sides]
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"rows": args.rows, "lookups": args.lookups, "load_before": load0,
                                         "load_after": load1, "results": results}, indent=2))
    return 0 if all(r["met"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
