#!/usr/bin/env python3
"""Publishing through witnesses: cosign latency, ?wait=checkpoint coverage, append throughput with vs without.

Three witnesses on loopback (the real witness app under uvicorn, each with its own SQLite database,
in this process), a 2-of-3 policy, and ``disclosure-ledger serve`` (a separate process, one
checkpoint a second: the default interval) over a fresh ledger (SQLite by default) per run. Runs
alternate: with witnesses, without, with, without… (``--runs`` of each). In every run:

  throughput  ``--clients`` threads (default 8) POST pre-signed one-line (i)(2) requests with their
              openings to /v1/statements for ``--duration`` seconds; appended statements per second.
  coverage    (runs with witnesses) ``--waits`` requests with ?wait=checkpoint, one at a time at
              random moments, while the throughput clients run: seconds from sending to the 201
              that carries a checkpoint covering the entry, which must meet the quorum.
  cosign      (runs with witnesses) each add-checkpoint as the witness's HTTP app handles it, from
              the request's first byte to the response's last (its database commit included).

Printed (and --json): cosign p50/p99 (goal p99 <= 100 ms), coverage p50/p99 (goal p99 <= 2 s),
the throughput of each run, the medians with and without, and their ratio (goal >= 0.9).

    .venv/bin/python bench/bench_witness.py --runs 1 --duration 5 --waits 10     # a small run
    .venv/bin/python bench/bench_witness.py --runs 5 --duration 60 --waits 120   # the acceptance run
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ledger.authoring import disclosure as dc  # noqa: E402
from ledger.authoring.trust import key_registration  # noqa: E402
from ledger.config import Settings  # noqa: E402
from ledger.core.cosignature import CosignerSigner  # noqa: E402
from ledger.core.keys import SignerKey, parse_vkey  # noqa: E402
from ledger.core.tlog_policy import parse_policy  # noqa: E402
from ledger.core.witnessed import check_witness_policy  # noqa: E402
from ledger.domain.service import DisclosureService  # noqa: E402
from ledger.policy import DEFAULT_POLICY  # noqa: E402
from ledger.rules.engine import RuleEngine  # noqa: E402
from ledger.salts import SaltSeed  # noqa: E402
from ledger.sealed import SealedKeys, SealedStore  # noqa: E402
from ledger.store.ledger import Ledger  # noqa: E402
from ledger.witness import http as witness_http  # noqa: E402
from ledger.witness.service import Witness  # noqa: E402
from ledger.witness.state import WitnessStore  # noqa: E402

AGENCY = "DHS/ICE"
NAMES = ("tigta", "gao", "jct")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


class TimedWitnessApp(witness_http.WitnessApp):
    """The witness's ASGI app, timing each add-checkpoint from its first byte received to its last sent."""

    def __init__(self, witness: Witness, seconds: list[float]) -> None:
        super().__init__(witness)
        self.seconds = seconds

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/add-checkpoint":
            await super().__call__(scope, receive, send)
            return
        start = time.perf_counter()
        await super().__call__(scope, receive, send)
        self.seconds.append(time.perf_counter() - start)


class Witnesses:
    def __init__(self, folder: Path) -> None:
        import uvicorn

        self.cosign_seconds: list[float] = []
        self.items = []
        for name in NAMES:
            store = WitnessStore(f"sqlite:///{folder}/{name}.sqlite3")
            store.create_tables()
            witness = Witness(CosignerSigner.generate(f"witness.{name}.example/w1"), store)
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
            sock.listen(128)
            server = uvicorn.Server(uvicorn.Config(TimedWitnessApp(witness, self.cosign_seconds), lifespan="off",
                                                   log_level="warning", access_log=False))
            thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
            thread.start()
            self.items.append((name, witness, server, thread, f"http://127.0.0.1:{sock.getsockname()[1]}"))
        deadline = time.monotonic() + 10
        while not all(s.started for _, _, s, _, _ in self.items) and time.monotonic() < deadline:
            time.sleep(0.01)

    def policy(self, log_vkey: str) -> str:
        lines = [f"log {log_vkey}"] + [f"witness {n} {w.signer.verifier} {url}" for n, w, _, _, url in self.items]
        return "\n".join([*lines, f"group q 2 {' '.join(NAMES)}", "quorum q"]) + "\n"

    def add_log(self, origin: str, vkey: str) -> None:
        for _, w, _, _, _ in self.items:
            w.store.add_log_key(origin, vkey)

    def stop(self) -> None:
        for _, w, server, thread, _ in self.items:
            server.should_exit = True
            thread.join(10)
            w.store.close()


def _submission(requester: SignerKey, k: int, seed: SaltSeed) -> dc.Submission:
    """A one-line request whose salts derive from the seed the service issued for it."""
    return dc.request(requester, exception="6103(i)(2)", agency=AGENCY, statute="8 USC 1253(a)(1)",
                      purpose="criminal_investigation", purpose_text="benchmark purpose", fields=["name", "address"],
                      recipients=[dc.Recipient("Agent A", AGENCY, True, True, 2)],
                      lines=[dc.Line(f"9{k % 10**8:08d}", "Fictional Person", "1 Elm St, Boston, MA 02110", ("2024",),
                                     "open case")],
                      case_ids=["FICT-1"], court_order=None, seed=seed)


def _body(sub: dc.Submission) -> dict[str, Any]:
    return {"statement": sub.note, "openings": [o.to_json() for o in sub.openings]}


def one_run(args: argparse.Namespace, witnesses: Witnesses, with_witnesses: bool, run: int,
            tmp: Path) -> dict[str, Any]:
    folder = tmp / f"run-{run}-{'with' if with_witnesses else 'without'}"
    folder.mkdir()
    origin = f"bench-{run}-{uuid.uuid4().hex[:8]}.example/log"
    url = f"sqlite:///{folder}/ledger.sqlite3" if args.backend == "sqlite" else \
        f"{args.pg_url}?schema=bench_{uuid.uuid4().hex[:12]}"
    settings = Settings(url, folder / "service-keys", folder / "service-keys" / "last-checkpoint.txt")
    admin = SignerKey.generate(origin + "/admin")
    requester = SignerKey.generate("ice.dhs.gov/director")
    keys = SealedKeys.generate(folder / "sealed")
    total = args.per_run + args.waits
    with Ledger(settings, rules=RuleEngine()) as ledger:
        ledger.initialise(origin, str(admin.verifier), DEFAULT_POLICY)
        ledger.append(key_registration(admin, requester, ["requester"], {"agency": AGENCY, "category": "agency_head"}))
        root = str(ledger.trust_root())
        # the salt seeds are issued here, before the clock starts, into the database the server reads
        service = DisclosureService(ledger, SealedStore(url, keys), keys)
        subs = [_body(_submission(requester, run * 10**6 + k, service.issue_seed(requester.name, "request")))
                for k in range(total)]
    env = {**os.environ, "LEDGER_SEALED_KEY_DIR": str(folder / "sealed"), "LEDGER_KEY_DIR": str(settings.key_dir),
           "LEDGER_CHECKPOINT_FILE": str(settings.checkpoint_path), "LEDGER_DB_URL": url}
    env.pop("LEDGER_WITNESS_POLICY", None)
    policy = None
    if with_witnesses:
        witnesses.add_log(origin, root)
        (folder / "witnesses.policy").write_text(witnesses.policy(root))
        env["LEDGER_WITNESS_POLICY"] = str(folder / "witnesses.policy")
        policy = parse_policy(witnesses.policy(root))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "ledger.cli", "--var", str(folder), "serve", "--port", str(port),
                               "--workers", str(args.workers)], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cosign_from = len(witnesses.cosign_seconds)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError("the service did not become ready")
        queue = iter(subs[args.waits:])
        lock = threading.Lock()
        done = [0]
        errors: list[str] = []
        stop_at = time.monotonic() + args.duration

        def client() -> None:
            with httpx.Client(base_url=base, timeout=60) as http:
                while time.monotonic() < stop_at:
                    with lock:
                        body = next(queue, None)
                    if body is None:
                        errors.append("ran out of pre-signed statements: raise --per-run")
                        return
                    r = http.post("/v1/statements", json=body)
                    with lock:
                        if r.status_code == 201:
                            done[0] += 1
                        else:
                            errors.append(f"{r.status_code} {r.text[:200]}")

        coverage: list[float] = []

        def waiter() -> None:
            rng = random.Random(run)
            with httpx.Client(base_url=base, timeout=60) as http:
                for body in subs[:args.waits]:
                    if time.monotonic() >= stop_at:
                        break
                    time.sleep(rng.uniform(0, max(0.0, min(1.0, args.duration / max(args.waits, 1)))))
                    start = time.perf_counter()
                    r = http.post("/v1/statements", params={"wait": "checkpoint"}, json=body)
                    elapsed = time.perf_counter() - start
                    if r.status_code != 201:
                        errors.append(f"wait: {r.status_code} {r.text[:200]}")
                        continue
                    note = r.json()["checkpoint"]
                    if policy is not None:
                        size = check_witness_policy(note, parse_vkey(root), policy).signed.checkpoint.size
                        if size <= r.json()["index"]:
                            errors.append("a checkpoint that does not cover the entry")
                    coverage.append(elapsed)

        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        if with_witnesses and args.waits:
            threads.append(threading.Thread(target=waiter))
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.monotonic() - started
        if errors:
            raise RuntimeError(f"{len(errors)} failed requests, first: {errors[0]}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        if args.backend != "sqlite":
            import psycopg

            with psycopg.connect(args.pg_url, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{url.split("schema=")[1]}" CASCADE')
        shutil.rmtree(folder, ignore_errors=True)
    return {"with_witnesses": with_witnesses, "appended": done[0], "per_second": done[0] / seconds,
            "coverage": coverage, "cosign": witnesses.cosign_seconds[cosign_from:]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--pg-url", default=os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    p.add_argument("--runs", type=int, default=5, help="runs of each kind, alternating (default 5)")
    p.add_argument("--duration", type=float, default=60.0, help="seconds of load per run (default 60)")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--waits", type=int, default=120, help="?wait=checkpoint requests per run with witnesses")
    p.add_argument("--per-run", type=int, default=20000, help="pre-signed statements per run (more than appended)")
    p.add_argument("--workers", type=int, default=1, help="serve --workers (default 1)")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    if args.runs < 1 or args.duration <= 0 or args.clients < 1 or args.waits < 0 or args.per_run < 1:
        print("error: --runs, --duration, --clients and --per-run must be positive", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="bench-witness-"))
    witnesses = Witnesses(tmp)
    results = []
    try:
        for run in range(args.runs):
            for with_witnesses in (True, False):
                r = one_run(args, witnesses, with_witnesses, run, tmp)
                results.append(r)
                print(f"run {run} {'with' if with_witnesses else 'without'} witnesses: "
                      f"{r['per_second']:.1f} appends/s", file=sys.stderr, flush=True)
    finally:
        witnesses.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    cosign = [s for r in results for s in r["cosign"]]
    coverage = [s for r in results for s in r["coverage"]]
    with_rates = [r["per_second"] for r in results if r["with_witnesses"]]
    without_rates = [r["per_second"] for r in results if not r["with_witnesses"]]
    ratio = statistics.median(with_rates) / statistics.median(without_rates)
    report = {
        "backend": args.backend, "runs": args.runs, "duration": args.duration, "clients": args.clients,
        "workers": args.workers,
        "cosign_ms": {"n": len(cosign), "p50": 1000 * _pct(cosign, 0.5), "p99": 1000 * _pct(cosign, 0.99)},
        "coverage_s": {"n": len(coverage), "p50": _pct(coverage, 0.5), "p99": _pct(coverage, 0.99)},
        "appends_per_second": {"with": with_rates, "without": without_rates,
                               "median_with": statistics.median(with_rates),
                               "median_without": statistics.median(without_rates), "ratio": ratio},
        "goals": {"cosign_p99_ms<=100": 1000 * _pct(cosign, 0.99) <= 100,
                  "coverage_p99_s<=2": _pct(coverage, 0.99) <= 2, "throughput_ratio>=0.9": ratio >= 0.9},
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
