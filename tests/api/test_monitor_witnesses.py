"""scripts/monitor.py --policy: cosignatures on the served checkpoint are checked, and each witness's
latest cosigned checkpoint (fetched from the real witness's monitoring endpoint) is compared with what
the ledger serves: a witness ahead is fine once the ledger proves it, a split view (a witness cosigned
another root at the served size) is an alarm, and so is a failing cosignature by a pinned witness."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import pytest
from domainfix import AGENCY, open_domain

from ledger.authoring.trust import key_registration
from ledger.core.checkpoint import Checkpoint, sign_checkpoint
from ledger.core.cosignature import parse_cosigner_vkey
from ledger.core.keys import SignerKey
from ledger.core.note import parse_note
from ledger.core.witness_protocol import with_lines
from ledger.store.service_keys import ServiceKeys
from ledger.witness_client import request_cosignature

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "witness"))
from witnessfix import Served, init_witness

ROOT = Path(__file__).resolve().parents[2]
MONITOR = ROOT / "scripts" / "monitor.py"
pytestmark = pytest.mark.slow


class _Ledger(BaseHTTPRequestHandler):
    """Serves the checkpoint the test chooses and the real ledger's consistency proofs."""

    checkpoint: ClassVar[bytes] = b""
    ledger: ClassVar[Any] = None

    def do_GET(self) -> None:
        parsed = urlparse(self.path)
        if parsed.path == "/v1/checkpoint":
            body, status = self.checkpoint, 200
        elif parsed.path == "/v1/proofs/consistency":
            q = parse_qs(parsed.query)
            try:
                proof = self.ledger.consistency_proof(int(q["old"][0]), int(q["new"][0]))
                body, status = json.dumps(proof).encode(), 200
            except Exception:  # the real API answers 400 for a size it cannot prove
                body, status = b"{}", 400
        else:
            body, status = b"", 404
        self.send_response(status)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("backend_url", ["sqlite"], indirect=True)
def test_monitor_compares_witnesses_with_the_ledger(settings: Any, tmp_path: Path) -> None:
    """Witness A follows the ledger; witness B is shown a forked checkpoint of the same size (the
    operator's split view). The monitor, given a policy naming both with their URLs, passes while A
    agrees (also when A is ahead), and alarms 'fork' once B holds the other root."""
    domain = open_domain(settings)
    domain.principal("ice.dhs.gov/director", ["requester"], agency=AGENCY, category="agency_head")
    ledger = domain.ledger
    vkey = str(ledger.trust_root())
    origin = ledger.origin
    a_vkey = init_witness(str(tmp_path / "a"), log_vkey=vkey, origin=origin)
    b_vkey = init_witness(str(tmp_path / "b"), log_vkey=vkey, origin=origin)
    a, b = Served(str(tmp_path / "a")), Served(str(tmp_path / "b"))
    fake = ThreadingHTTPServer(("127.0.0.1", 0), _Ledger)
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{fake.server_address[1]}"
    archive = tmp_path / "archive"
    policy = tmp_path / "mine.policy"
    policy.write_text(f"log {vkey}\nwitness A {a_vkey} {a.url}\nwitness B {b_vkey} {b.url}\ngroup g any A B\n"
                      "quorum g\n")

    def prove(old: int, new: int) -> list[bytes]:
        return [bytes.fromhex(h) for h in ledger.consistency_proof(old, new)["path"]]

    def monitor(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(MONITOR), "--url", url, "--vkey", vkey, "--archive", str(archive),
                               "--once", "--timeout", "5", "--policy", str(policy), *extra],
                              capture_output=True, text=True, timeout=60)

    try:
        _Ledger.ledger = ledger
        first = ledger.checkpoint().encode()
        cosig = request_cosignature(a.url, first, parse_cosigner_vkey(a_vkey), prove)
        _Ledger.checkpoint = with_lines(first, [cosig.line]).encode()
        ok = monitor()
        assert ok.returncode == 0, ok.stderr
        assert "witnessed: " in ok.stdout and "witness A: cosigned size" in ok.stdout
        assert "witness B: no checkpoint fetched" in ok.stdout  # B has cosigned nothing yet: not an alarm

        # the log grows; A cosigns the new size; the ledger still serves the old one: A is ahead, proved
        ledger.append(key_registration(domain.admin, SignerKey.generate("tigta.gov/z"), ["oversight"]))
        second = ledger.checkpoint().encode()
        request_cosignature(a.url, second, parse_cosigner_vkey(a_vkey), prove, old_size=cosig.old_size)
        ahead = monitor()
        assert ahead.returncode == 0, ahead.stderr

        # unwitnessed served checkpoint: reported; an alarm with --require-quorum
        _Ledger.checkpoint = second.encode()
        plain = monitor()
        assert plain.returncode == 0 and "not witnessed" in plain.stdout, plain.stderr
        required = monitor("--require-quorum")
        assert required.returncode == 1 and "ALARM below-quorum" in required.stderr

        # a failing cosignature by a pinned witness on the served checkpoint: A's line over the first
        # checkpoint, moved onto the second
        assert parse_note(second).text != parse_note(first).text
        _Ledger.checkpoint = with_lines(second, [cosig.line]).encode()
        bad = monitor()
        assert bad.returncode == 1 and "ALARM bad-cosignature" in bad.stderr, bad.stderr

        # split view: the operator signs another root at the served size and shows it to B alone
        key = ServiceKeys.load(ledger.settings.key_dir).checkpoint[0]
        size = ledger.checkpoint().checkpoint.size
        fork = sign_checkpoint(Checkpoint(origin, size, bytes(32)), [key]).encode()
        request_cosignature(b.url, fork, parse_cosigner_vkey(b_vkey), prove)
        _Ledger.checkpoint = with_lines(second, [request_cosignature(
            a.url, second, parse_cosigner_vkey(a_vkey), prove, old_size=size).line]).encode()
        split = monitor()
        assert split.returncode == 1 and "ALARM fork" in split.stderr and "witness B" in split.stderr, split.stderr
        evidence = sorted(p.name for p in archive.glob("witness-*.checkpoint"))
        assert evidence and all(name.endswith(".checkpoint") for name in evidence)
    finally:
        fake.shutdown()
        a.stop()
        b.stop()
        ledger.close()
