"""Several service processes under concurrent write load (concurrent writers).

The real command, ``disclosure-ledger serve --workers 3``, runs over one database (SQLite file
or PostgreSQL schema); client threads send validly signed requests over HTTP while the test
fetches checkpoints. Then: one linear chain with contiguous indices, every acknowledged entry at
its index with its leaf hash, ``verify`` passes, a consistency proof served by the API between an
early and a late checkpoint verifies with the core's verifier, more than one worker served, and
``/metrics`` (answered by any one worker) counts every worker's appends.
"""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from domainfix import AGENCY, ORIGIN, http_seed, one_line_request, open_domain
from prometheus_client.parser import text_string_to_metric_families

from ledger.cli import main
from ledger.core.checkpoint import open_checkpoint
from ledger.core.entry import parse_entry
from ledger.core.keys import parse_vkey
from ledger.core.merkle import leaf_hash
from ledger.core.proofs import verify_consistency
from ledger.core.statement import parse_statement
from ledger.sealed import SealedKeys
from ledger.store.ledger import Ledger

WORKERS = 3
CLIENTS = 4
PER_CLIENT = 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(base: str, proc: subprocess.Popen, timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited with {proc.returncode}")
        try:
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the service did not become ready")


def _served_by(base: str, metrics_dir: Path) -> set[str]:
    """The pids of the workers that answered requests (each keeps its own histogram file).

    Which worker accepts a connection is the kernel's choice; if the writers' connections all went
    to one, rounds of concurrent fresh connections give the others their turn (bounded)."""
    def pids() -> set[str]:
        return {p.stem.rsplit("_", 1)[1] for p in metrics_dir.glob("histogram_*.db")}

    for _ in range(20):
        if len(pids()) >= 2:
            break
        burst = [threading.Thread(target=lambda: httpx.get(base + "/v1/checkpoint", timeout=30)) for _ in range(8)]
        for t in burst:
            t.start()
        for t in burst:
            t.join()
    return pids()


@pytest.mark.slow
def test_three_workers_one_chain(settings, tmp_path: Path):
    """3 uvicorn workers, 4 HTTP clients x 20 signed requests: one contiguous chain, every ack stored, proofs verify."""
    domain = open_domain(settings)  # genesis, an administrator, and the requesters the clients sign as
    signers = [domain.principal(f"agency{i}.example.gov/director", ["requester"], agency=AGENCY,
                                category="agency_head") for i in range(CLIENTS)]
    start_size = domain.ledger.size()
    domain.ledger.close()
    SealedKeys.generate(tmp_path / "sealed")
    from api.tokens import TokenStore

    tokens = TokenStore(settings.db_url)
    operator = tokens.create("ops.example.gov/prometheus", "operator", timedelta(hours=1))[0]
    tokens.close()

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {**os.environ, "LEDGER_SEALED_KEY_DIR": str(tmp_path / "sealed"), "LEDGER_KEY_DIR": str(settings.key_dir),
           "LEDGER_CHECKPOINT_FILE": str(settings.checkpoint_path), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    cli = str(Path(sys.executable).parent / "disclosure-ledger")
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([cli, "--db", settings.db_url, "--var", str(tmp_path), "serve",
                             "--port", str(port), "--workers", str(WORKERS)],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_healthy(base, proc)
        trust_root = parse_vkey(httpx.get(base + "/v1/trust-root").text.strip())
        acks: list[dict] = []
        errors: list[str] = []
        lock = threading.Lock()

        def client(k: int) -> None:
            # a new connection per request: the workers share one listening socket, and a kept-alive
            # connection stays with whichever worker accepted it (one CI run saw all four land on one)
            for i in range(PER_CLIENT):
                # the seed may come from one worker and the statement land in another: seeds are in the database
                seed = http_seed(lambda path, json: httpx.post(base + path, json=json, timeout=60), signers[k], ORIGIN)
                sub = one_line_request(signers[k], tin=f"900-7{k}-{i:04d}", seed=seed)
                r = httpx.post(base + "/v1/statements", timeout=60,
                               json={"statement": sub.note, "openings": [o.to_json() for o in sub.openings]})
                with lock:
                    if r.status_code == 201:
                        acks.append(r.json())
                    else:
                        errors.append(f"{r.status_code} {r.text[:200]}")

        threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
        for t in threads:
            t.start()
        checkpoints = []
        with httpx.Client(base_url=base, timeout=30) as http:
            while any(t.is_alive() for t in threads):
                checkpoints.append(open_checkpoint(http.get("/v1/checkpoint").text, trust_root).checkpoint)
                time.sleep(0.25)
            for t in threads:
                t.join()
            assert not errors, errors[:3]
            final = start_size + CLIENTS * PER_CLIENT
            deadline = time.monotonic() + 20  # the background signer covers the last entries
            while checkpoints[-1].size < final and time.monotonic() < deadline:
                time.sleep(0.25)
                checkpoints.append(open_checkpoint(http.get("/v1/checkpoint").text, trust_root).checkpoint)
            assert checkpoints[-1].size == final
            sizes = sorted({c.size for c in checkpoints})
            assert len(sizes) >= 3, sizes  # checkpoints were signed while the writers ran
            early = next(c for c in checkpoints if c.size < final)
            late = checkpoints[-1]
            proof = http.get("/v1/proofs/consistency", params={"old": early.size, "new": late.size}).json()
            verify_consistency(early.size, late.size, early.root, late.root, [bytes.fromhex(h) for h in proof["path"]])
            text = http.get("/metrics", headers={"Authorization": f"Bearer {operator}"}).text
        samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                   for f in text_string_to_metric_families(text) for s in f.samples}
        assert samples[("dl_statements_total", (("outcome", "stored"),))] == CLIENTS * PER_CLIENT
        assert samples[("dl_log_size", ())] == final
        assert len(_served_by(base, metrics_dir)) >= 2  # more than one worker process answered requests
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()

    assert len(acks) == CLIENTS * PER_CLIENT
    ledger = Ledger(settings)
    try:
        entries = [parse_entry(data) for _, data in ledger.iter_entries()]
        assert [e.index for e in entries] == list(range(len(entries))) and len(entries) == final
        for before, after in itertools.pairwise(entries):
            assert after.prev == before.leaf_hash.hex()
        assert len({a["index"] for a in acks}) == len(acks)
        for a in acks:
            stored = ledger.entry(a["index"])
            assert leaf_hash(stored).hex() == a["leaf_hash"]
            assert parse_statement(parse_entry(stored).statement).id == a["statement_id"]
    finally:
        ledger.close()
    assert main(["--db", settings.db_url, "--var", str(tmp_path), "verify"]) == 0
    served = (tmp_path / "serve.log").read_text()
    assert served.count('"event": "access"') >= CLIENTS * PER_CLIENT
    for personal in ("900-7", "Fictional One", "Elm St", operator):  # TINs, name, address, the token
        assert personal not in served
    assert "Traceback" not in served and "TrackingConflict" not in served
