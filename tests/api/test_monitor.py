"""scripts/monitor.py follows a live ledger (a real `disclosure-ledger serve` on a free port),
alarms on a rollback after an old database copy is restored (which the ledger then refuses
to extend or sign), on a forged inconsistent checkpoint, a fork and a bad signature."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from apifix import AGENCY, Api
from domainfix import ORIGIN, http_seed, one_line_request, open_domain
from storefix import make_settings

from ledger.authoring.trust import key_registration
from ledger.core.checkpoint import Checkpoint, sign_checkpoint
from ledger.core.keys import SignerKey
from ledger.sealed import SealedKeys
from ledger.store.errors import CheckpointRefused
from ledger.store.ledger import Ledger
from ledger.store.service_keys import ServiceKeys

ROOT = Path(__file__).resolve().parents[2]
MONITOR = ROOT / "scripts" / "monitor.py"
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _monitor(url: str, vkey: str, archive: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(MONITOR), "--url", url, "--vkey", vkey, "--archive", str(archive),
                           "--once", "--timeout", "5"], capture_output=True, text=True, timeout=60)


class Server:
    """`disclosure-ledger serve` in a subprocess over the ledger in ``var``."""

    def __init__(self, var: Path, sealed_dir: Path) -> None:
        self.var, self.port = var, _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "LEDGER_SEALED_KEY_DIR": str(sealed_dir), "LEDGER_VAR": str(var)}
        env.pop("LEDGER_DB_URL", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ledger.cli", "serve", "--port", str(self.port)], env=env, cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
            if self.proc.poll() is not None:
                break
        self.stop()
        raise AssertionError("server did not start: " + (self.proc.stdout.read() if self.proc.stdout else ""))

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.stdout.read() if self.proc.stdout else ""


def _sqlite_copy(src: Path, dst: Path) -> None:
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)


def test_monitor_follows_live_ledger_and_alarms_on_restored_backup(tmp_path):
    """Monitor archives a growing ledger; after an old copy is restored the ledger refuses, the monitor alarms."""
    var = tmp_path / "var"
    settings = make_settings(f"sqlite:///{var}/ledger.sqlite3", var)
    domain = open_domain(settings)
    requester = domain.principal("ice.dhs.gov/director", ["requester"], agency=AGENCY, category="agency_head")
    vkey = str(domain.ledger.trust_root())
    domain.ledger.close()
    sealed = tmp_path / "sealed"
    keys = SealedKeys.generate(sealed)
    archive = tmp_path / "archive"
    helper = Api(None, domain, keys, {}, requester)  # type: ignore[arg-type]
    server = Server(var, sealed)
    try:
        def post(tin: str) -> int:
            seed = http_seed(lambda path, json: httpx.post(server.url + path, json=json, timeout=30), requester,
                             ORIGIN)
            r = httpx.post(server.url + "/v1/statements?wait=checkpoint",
                           json=helper.submission(one_line_request(requester, tin=tin, seed=seed)), timeout=30)
            assert r.status_code == 201, r.text
            return int(r.json()["index"])

        post("900-70-0001")
        first = _monitor(server.url, vkey, archive)
        assert first.returncode == 0 and "(new)" in first.stdout, first.stdout + first.stderr
        _sqlite_copy(var / "ledger.sqlite3", tmp_path / "old.sqlite3")  # the backup taken now
        post("900-70-0002")
        post("900-70-0003")
        second = _monitor(server.url, vkey, archive)
        assert second.returncode == 0 and "(new)" in second.stdout, second.stderr
        assert _monitor(server.url, vkey, archive).stdout.endswith("(unchanged)\n")
        assert len(list(archive.glob("*.checkpoint"))) == 2
    finally:
        server.stop()

    # Restore the older copy: the ledger refuses appends and refuses to sign; the monitor alarms.
    for suffix in ("", "-wal", "-shm"):
        (var / f"ledger.sqlite3{suffix}").unlink(missing_ok=True)
    shutil.copy(tmp_path / "old.sqlite3", var / "ledger.sqlite3")
    with Ledger(settings) as restored, pytest.raises(CheckpointRefused, match="restored older database"):
        restored.checkpoint(force=True)  # (without force it returns the restored copy's stale checkpoint)
    server = Server(var, sealed)
    try:
        seed = http_seed(lambda path, json: httpx.post(server.url + path, json=json, timeout=30), requester, ORIGIN)
        r = httpx.post(server.url + "/v1/statements",
                       json=helper.submission(one_line_request(requester, tin="900-70-0004", seed=seed)))
        assert r.status_code == 503 and r.json()["rule"] == "ledger.behind_checkpoint"
        alarm = _monitor(server.url, vkey, archive)
        assert alarm.returncode == 1 and "ALARM rollback" in alarm.stderr, alarm.stdout + alarm.stderr
        ready = httpx.get(server.url + "/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["log"].startswith("behind"), ready.text
    finally:
        server.stop()


class _Fake(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        body = self.routes.get(path)
        self.send_response(200 if body is not None else 404)
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_ledger(settings):
    """A real ledger's checkpoint key and proofs, served by a stand-in server the test controls."""
    domain = open_domain(settings)
    domain.principal("ice.dhs.gov/director", ["requester"], agency=AGENCY, category="agency_head")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Fake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield domain, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    domain.ledger.close()


@pytest.mark.parametrize("backend_url", ["sqlite"], indirect=True)
def test_monitor_alarms_on_forged_fork_and_bad_signature(fake_ledger, tmp_path):
    """A checkpoint signed by the ledger's own key but not extending the archived one, a fork, a foreign key."""

    domain, url = fake_ledger
    ledger = domain.ledger
    vkey = str(ledger.trust_root())
    archive = tmp_path / "archive"
    good = ledger.checkpoint()
    _Fake.routes = {"/v1/checkpoint": good.encode().encode()}
    assert _monitor(url, vkey, archive).returncode == 0
    key = ServiceKeys.load(ledger.settings.key_dir).checkpoint[0]
    size = good.checkpoint.size
    # The log grows by one entry; the operator signs, with the real key, a checkpoint of the new
    # size over another root (a rewritten history) and serves the log's real consistency proof.
    ledger.append(key_registration(domain.admin, SignerKey.generate("tigta.gov/z"), ["oversight"]))
    forged = sign_checkpoint(Checkpoint(ledger.origin, size + 1, bytes(32)), [key])
    proof = ledger.consistency_proof(size, size + 1)
    _Fake.routes = {"/v1/checkpoint": forged.encode().encode(),
                    "/v1/proofs/consistency": json.dumps(proof).encode()}
    r = _monitor(url, vkey, archive)
    assert r.returncode == 1 and "ALARM inconsistent" in r.stderr, r.stderr
    # same size, other root: a fork
    fork = sign_checkpoint(Checkpoint(ledger.origin, size, bytes(32)), [key])
    _Fake.routes = {"/v1/checkpoint": fork.encode().encode()}
    r = _monitor(url, vkey, archive)
    assert r.returncode == 1 and "ALARM fork" in r.stderr, r.stderr
    # a checkpoint signed by another key under the same name
    other = sign_checkpoint(Checkpoint(ledger.origin, size + 5, bytes(32)), [SignerKey.generate(ledger.origin)])
    _Fake.routes = {"/v1/checkpoint": other.encode().encode()}
    r = _monitor(url, vkey, archive)
    assert r.returncode == 1 and "ALARM bad-signature" in r.stderr, r.stderr
    # nothing bad was archived: only the good checkpoint is there
    assert [p.name for p in archive.glob("*.checkpoint")] == [f"{size}.checkpoint"]
    # unreachable is not an alarm
    _Fake.routes = {}
    assert _monitor(url, vkey, archive).returncode == 2


def test_monitor_imports_only_the_bundled_core(tmp_path):
    """monitor.py copied beside verify_ledger.py runs without the ledger package: it never imports it."""
    folder = tmp_path / "oversight"
    folder.mkdir()
    for name in ("monitor.py", "verify_ledger.py"):
        shutil.copy(ROOT / "scripts" / name, folder / name)
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); import monitor; "
             "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('ledger', 'api', 'eventsourcing', "
             "'sqlalchemy', 'fastapi')); print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-I", "-c", probe, str(folder)], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    usage = subprocess.run([sys.executable, "-I", str(folder / "monitor.py"), "--url", "http://127.0.0.1:9",
                            "--vkey", "not a key", "--archive", str(tmp_path / "a"), "--once"],
                           capture_output=True, text=True)
    assert usage.returncode == 2 and "--vkey" in usage.stderr
