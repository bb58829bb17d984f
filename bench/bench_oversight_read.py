#!/usr/bin/env python3
"""The oversight taxpayer read through the API, inspection write included, at ``--rows`` view rows.

Goal (issue 7): p99 <= 100 ms at 10 million projection rows.

One ledger (SQLite by default, or PostgreSQL) with the § 6103 rules engine; its views are
loaded with ``--rows`` synthetic request lines and as many released lines
(``bench_projections.load``: bulk insert, then indexes), the synthetic taxpayers being the
pseudonyms of fictional TINs under this run's key — so a lookup by TIN finds their rows.
Then ``--lookups`` reads ``POST /v1/oversight/taxpayer`` through the app in process
(Starlette's TestClient: routing, validation, token check, the inspection signed, sealed and
appended, the views caught up to it, the history page read) — 10 % on "hot" taxpayers with
``--hot-rows`` rows each, the rest on random ones. No network hop (no uvicorn): add that.

    .venv/bin/python bench/bench_oversight_read.py --rows 1000000
    .venv/bin/python bench/bench_oversight_read.py --rows 10000000 --backend postgres
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_projections as bp  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from api.app import create_app  # noqa: E402
from api.settings import ApiSettings  # noqa: E402
from api.tokens import TokenStore  # noqa: E402
from ledger.config import Settings  # noqa: E402
from ledger.keys import SignerKey  # noqa: E402
from ledger.policy import DEFAULT_POLICY  # noqa: E402
from ledger.rules.engine import RuleEngine  # noqa: E402
from ledger.sealed import SealedKeys  # noqa: E402
from ledger.store.ledger import Ledger  # noqa: E402
from projections.db import open_database  # noqa: E402

ORIGIN = "ledger.bench.example/disclosures"


def tin(kind: str, i: int) -> str:
    return f"{8 if kind == 'hot' else 9}{i:08d}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000, help="request lines (and released lines) in the views")
    ap.add_argument("--hot-rows", type=int, default=50, help="rows per hot taxpayer")
    ap.add_argument("--lookups", type=int, default=500)
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    args = ap.parse_args()
    keys = SealedKeys.random()
    plain_hx = bp.hx

    def hx(*parts: Any) -> str:  # the synthetic taxpayers are pseudonyms of fictional TINs
        if len(parts) == 2 and parts[0] in ("hot", "cold"):
            return keys.pseudonym(tin(parts[0], parts[1]))
        return plain_hx(*parts)

    bp.hx = hx
    with tempfile.TemporaryDirectory(prefix="dl-bench-read-") as tmp_name:
        tmp = Path(tmp_name)
        backend = bp.Backend(args.backend, tmp)
        try:
            url = backend.url()
            settings = Settings(url, tmp / "service-keys", tmp / "service-keys" / "last-checkpoint.txt")
            ledger = Ledger(settings, rules=RuleEngine())
            admin = SignerKey.generate(ORIGIN + "/admin")
            ledger.initialise(ORIGIN, str(admin.verifier), DEFAULT_POLICY)
            views = open_database(url)
            print(f"loading {args.rows:,} rows ({args.backend}) …", flush=True)
            loaded = bp.load(views, args.rows, args.hot_rows)
            views.close()
            print(f"  loaded in {loaded:.1f}s", flush=True)
            store = TokenStore(url)
            token = store.create("bench.example/auditor", "oversight", timedelta(hours=2))[0]
            store.close()
            app = create_app(ApiSettings(settings), keys, ledger=ledger)
            rng = random.Random(11)
            cold = min(max(1, args.rows // 3), 2_000_000)
            who = [tin("hot", rng.randrange(bp.HOT)) if i % 10 == 0 else tin("cold", rng.randrange(cold))
                   for i in range(args.lookups)]
            headers = {"Authorization": f"Bearer {token}"}
            times: list[float] = []
            found = 0
            with TestClient(app) as client:
                for t in who[:20]:  # warm-up
                    client.post("/v1/oversight/taxpayer", json={"tin": t, "purpose": "warm-up"}, headers=headers)
                for t in who:
                    t0 = time.perf_counter()
                    r = client.post("/v1/oversight/taxpayer", json={"tin": t, "purpose": "bench"}, headers=headers)
                    times.append(time.perf_counter() - t0)
                    body = r.json()
                    assert r.status_code == 200 and body["caught_up"], r.text
                    found += any(e["kind"] != "inspection" for e in body["items"])
            ledger.close()
        finally:
            backend.cleanup()
    p99 = bp.p99(times)
    print(f"  taxpayer read through the API at {args.rows:,} rows ({args.backend}): "
          f"p50 {statistics.median(times) * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms over {len(times)} reads "
          f"({found} found rows beyond their inspections); goal p99 <= 100 ms: {'met' if p99 <= 0.1 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
