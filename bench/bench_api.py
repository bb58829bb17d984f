#!/usr/bin/env python3
"""HTTP API throughput with wrk (a load generator in C), against the in-process write path.

In one run, on one SQLite (default) or PostgreSQL ledger with the § 6103 rules engine:

  in-process  ``DisclosureService.submit(note, openings)`` from T client threads (default 8):
              a one-line (i)(2) request with its 7 openings, signed before the clock starts;
              the openings are checked and sealed, the rules run, the entry is chained.
  HTTP write  the same kind of submissions, other ids, POSTed to ``/v1/statements`` of a
              ``disclosure-ledger serve`` (uvicorn, one process) by ``wrk -t2 -c8``; a Lua
              script gives every request its own pre-signed body (no resubmissions).
  HTTP reads  ``GET /v1/checkpoint`` (public), ``GET /v1/proofs/consistency?old=1`` (public)
              and ``GET /v1/entries/{i}`` (court token), each with ``wrk -t2 -c8``.

Printed: requests/s, p50 and p99 latency, the non-2xx count (must be 0), and the ratio
HTTP write rate / in-process rate (goal >= 0.5). wrk shares the machine's cores with the
server: on a 2-core machine that weighs against the HTTP side.

    .venv/bin/python bench/bench_api.py                     # SQLite, 10 s per wrk run
    .venv/bin/python bench/bench_api.py --backend postgres --duration 10
    .venv/bin/python bench/bench_api.py --json bench/results/api.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.tokens import TokenStore  # noqa: E402
from ledger.authoring import disclosure as dc  # noqa: E402
from ledger.authoring.trust import key_registration  # noqa: E402
from ledger.config import Settings  # noqa: E402
from ledger.core.keys import SignerKey  # noqa: E402
from ledger.domain.service import DisclosureService  # noqa: E402
from ledger.policy import DEFAULT_POLICY  # noqa: E402
from ledger.rules.engine import RuleEngine  # noqa: E402
from ledger.sealed import SealedKeys, SealedStore  # noqa: E402
from ledger.store.ledger import Ledger  # noqa: E402

ORIGIN = "ledger.bench.example/disclosures"
AGENCY = "DHS/ICE"
LUA = r"""
local bodies = {}
local counter = 1
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  local n = tonumber(args[2])  -- the thread count (this thread's Lua state has no `threads`)
  local i = 0
  for line in io.lines(args[1]) do
    if i % n == id then table.insert(bodies, line) end
    i = i + 1
  end
end
function request()
  local body = bodies[counter]
  if body == nil then body = bodies[1] end  -- ran out: resubmissions (reported as exhausted)
  counter = counter + 1
  return wrk.format("POST", "/v1/statements", {["Content-Type"] = "application/json"}, body)
end
function done(summary, latency, requests)
  io.write(string.format("BODIES_PER_THREAD %d\n", #bodies))
end
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _submission(requester: SignerKey, k: int, service: DisclosureService) -> dc.Submission:
    """A one-line request built from the salt seed the service issued for it (before the clock starts)."""
    return dc.request(requester, exception="6103(i)(2)", agency=AGENCY, statute="8 USC 1253(a)(1)",
                      purpose="criminal_investigation", purpose_text="benchmark purpose", fields=["name", "address"],
                      recipients=[dc.Recipient("Agent A", AGENCY, True, True, 2)],
                      lines=[dc.Line(f"9{k % 10**8:08d}", "Fictional Person", "1 Elm St, Boston, MA 02110", ("2024",),
                                     "open case")],
                      case_ids=["FICT-1"], court_order=None, seed=service.issue_seed(requester.name, "request"))


def _body(sub: dc.Submission) -> str:
    return json.dumps({"statement": sub.note, "openings": [o.to_json() for o in sub.openings]})


def in_process(service: DisclosureService, subs: list[dc.Submission], clients: int) -> float:
    parts = [subs[i::clients] for i in range(clients)]
    start_gate = threading.Barrier(clients + 1)
    errors: list[BaseException] = []

    def work(part: list[dc.Submission]) -> None:
        start_gate.wait()
        try:
            for s in part:
                service.submit(s.note, s.openings)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(p,)) for p in parts]
    for t in threads:
        t.start()
    start_gate.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return len(subs) / elapsed


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    assert m, text
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def wrk(url: str, duration: float, extra: list[str], script_args: list[str] | None = None) -> dict[str, Any]:
    cmd = ["wrk", "-t2", "-c8", f"-d{duration:g}s", "--latency", *extra, url]
    if script_args:
        cmd += ["--", *script_args]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    out = run.stdout
    if "Requests/sec" not in out:
        raise RuntimeError(f"wrk failed: {out[-500:]} {run.stderr[-500:]}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rate": rate, "p50_ms": p50, "p99_ms": p99, "requests": total, "non_2xx": int(bad.group(1)) if bad else 0}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--pg-url", default=os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    p.add_argument("--n", type=int, default=1000, help="in-process submissions (default 1000)")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run (default 10)")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install -y wrk)", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="dl-bench-api-"))
    schema = None
    if args.backend == "sqlite":
        url = f"sqlite:///{tmp}/ledger.sqlite3"
    else:
        import psycopg

        schema = "bench_" + uuid.uuid4().hex[:12]
        with psycopg.connect(args.pg_url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        url = f"{args.pg_url}?schema={schema}"
    settings = Settings(url, tmp / "service-keys", tmp / "service-keys" / "last-checkpoint.txt")
    keys = SealedKeys.generate(tmp / "sealed")
    server = None
    try:
        ledger = Ledger(settings, rules=RuleEngine())
        admin = SignerKey.generate(ORIGIN + "/admin")
        ledger.initialise(ORIGIN, str(admin.verifier), DEFAULT_POLICY)
        requester = SignerKey.generate("ice.dhs.gov/director")
        ledger.append(key_registration(admin, requester, ["requester"], {"agency": AGENCY, "category": "agency_head"}))
        sealed = SealedStore(url, keys)
        service = DisclosureService(ledger, sealed, keys)
        subs = [_submission(requester, k, service) for k in range(args.n)]
        in_process(service, subs[: min(50, len(subs))], args.clients)  # warm up
        inproc = in_process(service, subs[min(50, len(subs)):], args.clients)
        print(f"in-process submit ({args.clients} threads): {inproc:,.0f}/s")
        # enough bodies for the HTTP run at up to 2x the in-process rate (their seeds issued here, stored
        # in the database the server reads)
        http_n = int(max(inproc, 50) * args.duration * 2) + 200
        body_file = tmp / "bodies.jsonl"
        with open(body_file, "w") as f:
            for k in range(http_n):
                f.write(_body(_submission(requester, args.n + k, service)) + "\n")
        sealed.close()
        ledger.close()
        (tmp / "post.lua").write_text(LUA)
        tokens = TokenStore(url)
        court = tokens.create("bench.example/court", "court", timedelta(hours=1))[0]
        tokens.close()
        port = _free_port()
        env = {**os.environ, "LEDGER_SEALED_KEY_DIR": str(tmp / "sealed"), "LEDGER_KEY_DIR": str(tmp / "service-keys"),
               "LEDGER_DB_URL": url}
        server = subprocess.Popen([sys.executable, "-m", "ledger.cli", "--var", str(tmp), "serve", "--port", str(port)],
                                  env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        results: dict[str, Any] = {"backend": args.backend, "clients": args.clients, "in_process_rate": inproc}
        write = wrk(base + "/v1/statements", args.duration, ["-s", str(tmp / "post.lua")], [str(body_file), "2"])
        write["exhausted"] = write["requests"] > http_n
        results["http_write"] = write
        size = int(json.loads(urllib.request.urlopen(base + "/v1/checkpoints?limit=1").read())
                   ["checkpoints"][0]["size"])
        for name, path, extra in [
            ("http_checkpoint", "/v1/checkpoint", []),
            ("http_consistency", f"/v1/proofs/consistency?old=1&new={size}", []),
            ("http_entry", f"/v1/entries/{size // 2}", ["-H", f"Authorization: Bearer {court}"]),
        ]:
            results[name] = wrk(base + path, args.duration, extra)
        results["ratio_write"] = write["rate"] / inproc
        for name in ("http_write", "http_checkpoint", "http_consistency", "http_entry"):
            r = results[name]
            print(f"{name:17s} {r['rate']:>8,.0f}/s  p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  "
                  f"non-2xx {r['non_2xx']}")
        verdict = "MEETS" if results["ratio_write"] >= 0.5 else "BELOW"
        print(f"HTTP write / in-process = {results['ratio_write']:.2f} ({verdict} the goal 0.5)"
              + (" [bodies exhausted: resubmissions counted]" if write["exhausted"] else ""))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(results, indent=2))
        return 0 if write["non_2xx"] == 0 else 1
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        if schema is not None:
            import psycopg

            with psycopg.connect(args.pg_url, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
