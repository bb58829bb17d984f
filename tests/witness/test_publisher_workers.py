"""`disclosure-ledger serve --workers 2` with three witnesses and a 2-of-3 policy, on SQLite and
PostgreSQL: four HTTP clients append (some with ?wait=checkpoint) while both workers' publishers
contend for the one lease. Each witness sees strictly increasing sizes and never answers 409; every
published checkpoint meets the quorum; after a deliberate reset of what the ledger knows of the
witnesses, each answers 409 once and the publisher resynchronises from the size it names."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from domainfix import AGENCY, ORIGIN, http_seed, one_line_request, open_domain
from publishfix import trio

from ledger.core.tlog_policy import parse_policy
from ledger.core.witnessed import check_witness_policy
from ledger.sealed import SealedKeys

CLIENTS = 4
PER_CLIENT = 12


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(base: str, proc: subprocess.Popen, timeout: float = 60) -> None:
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


@pytest.mark.slow
def test_two_workers_three_witnesses(settings, tmp_path: Path) -> None:
    domain = open_domain(settings)
    signers = [domain.principal(f"agency{i}.example.gov/director", ["requester"], agency=AGENCY,
                                category="agency_head") for i in range(CLIENTS)]
    root = str(domain.ledger.trust_root())
    domain.ledger.close()
    SealedKeys.generate(tmp_path / "sealed")
    with trio(tmp_path / "w") as t:
        t.add_log(ORIGIN, root)
        policy_path = t.write_policy([root])
        policy = parse_policy(policy_path.read_bytes())
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "LEDGER_SEALED_KEY_DIR": str(tmp_path / "sealed"), "LEDGER_KEY_DIR": str(settings.key_dir),
               "LEDGER_CHECKPOINT_FILE": str(settings.checkpoint_path), "LEDGER_WITNESS_POLICY": str(policy_path),
               "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
        cli = str(Path(sys.executable).parent / "disclosure-ledger")
        log = (tmp_path / "serve.log").open("wb")
        proc = subprocess.Popen([cli, "--db", settings.db_url, "--var", str(tmp_path), "serve", "--port", str(port),
                                 "--workers", "2"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            _wait_ready(base, proc)
            from ledger.core.keys import parse_vkey

            trust_root = parse_vkey(root)
            errors: list[str] = []
            waited: list[str] = []
            lock = threading.Lock()

            def client(k: int) -> None:
                for i in range(PER_CLIENT):
                    seed = http_seed(lambda path, **kw: httpx.post(base + path, timeout=60, **kw), signers[k], ORIGIN)
                    sub = one_line_request(signers[k], tin=f"900-7{k}-{i:04d}", seed=seed)
                    wait = {"wait": "checkpoint"} if i % 3 == 0 else {}
                    r = httpx.post(base + "/v1/statements", params=wait, timeout=60,
                                   json={"statement": sub.note, "openings": [o.to_json() for o in sub.openings]})
                    with lock:
                        if r.status_code != 201:
                            errors.append(f"{r.status_code} {r.text[:300]}")
                        elif wait:
                            waited.append(r.json()["checkpoint"])

            threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            assert not errors, errors[:3]
            final = len(signers) + 1 + CLIENTS * PER_CLIENT  # genesis, registrations, requests
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                r = httpx.get(base + "/v1/checkpoint")
                if check_witness_policy(r.text, trust_root, policy).signed.checkpoint.size == final:
                    break
                time.sleep(0.2)
            assert check_witness_policy(r.text, trust_root, policy).signed.checkpoint.size == final
            assert r.headers["Witnesses"] == "cosigned by 3 of 3 witnesses; quorum met"
            for note in waited:  # every ?wait=checkpoint answer meets the quorum
                check_witness_policy(note, trust_root, policy)
            ready = httpx.get(base + "/readyz").json()
            assert ready["status"] == "ready" and ready["checks"]["witnesses"] == "ok"
            assert ready["witnesses"].startswith("witnessed (quorum")
            for w in t.witnesses:
                sizes = w.sizes()
                assert sizes == sorted(set(sizes)) and sizes[-1] == final, (w.name, w.seen)
                assert not [s for s in w.seen if s[0] != 200], (w.name, w.seen)

            # A deliberate reset: the ledger forgets what each witness holds. Each answers 409 once,
            # naming its size; the publisher resends from there, and publication goes on.
            from ledger.store.ledger import Ledger

            with Ledger(settings) as plain, plain.store.writing() as db:
                db.many(f"DELETE FROM {db.t('dl_witnesses')}", [()])
            seed = http_seed(lambda path, **kw: httpx.post(base + path, timeout=60, **kw), signers[0], ORIGIN)
            sub = one_line_request(signers[0], tin="900-79-9999", seed=seed)
            r = httpx.post(base + "/v1/statements", params={"wait": "checkpoint"}, timeout=60,
                           json={"statement": sub.note, "openings": [o.to_json() for o in sub.openings]})
            assert r.status_code == 201, r.text
            assert check_witness_policy(r.json()["checkpoint"], trust_root, policy).signed.checkpoint.size == final + 1
            for w in t.witnesses:
                conflicts = [s for s in w.seen if s[0] == 409]
                assert conflicts == [(409, 0, final + 1)], (w.name, w.seen)
                sizes = w.sizes()
                assert sizes == sorted(set(sizes)) and sizes[-1] == final + 1
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            log.close()
    served = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in served, served[-3000:]
