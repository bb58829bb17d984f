"""The dashboard's verify.js in Debian's Chromium: the signature-line table every verifier of this
project shares (tests/vectors/note-signature-lines.json), the cosignature vectors made with Go, the
witness-policy parser, and on the demo's pages a pinned witness policy deciding the verification."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from webfix import ARTIFACTS, CHROMIUM, REPO, axe_source, need

from ledger.core.cosignature import CosignerSigner

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or, under CI, fails) with the reason
    expect = None

pytestmark = pytest.mark.xdist_group("web-browser")  # one worker, one browser
VECTORS = REPO / "tests" / "vectors"
TABLE = json.loads((VECTORS / "note-signature-lines.json").read_text("utf-8"))
COSIGNATURES = json.loads((VECTORS / "cosignature-v1.json").read_text("utf-8"))["vectors"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need("Playwright's Python package is not installed")
    if not Path(CHROMIUM).exists():
        need(f"Chromium is not installed at {CHROMIUM}")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


class _Static(BaseHTTPRequestHandler):
    files: ClassVar[dict[str, tuple[bytes, str]]] = {}

    def do_GET(self) -> None:
        body, ctype = self.files.get(self.path, (b"", "text/plain"))
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", ctype)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def blank(browser: Any) -> Iterator[Any]:
    """A page holding only verify.js, served from 127.0.0.1 (a secure context: WebCrypto works)."""
    _Static.files = {
        "/": (b'<!doctype html><html lang="en"><title>t</title><script src="/verify.js"></script></html>',
              "text/html"),
        "/verify.js": ((REPO / "api" / "web" / "static" / "verify.js").read_bytes(), "text/javascript"),
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Static)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    page = browser.new_page()
    page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
    yield page
    page.close()
    server.shutdown()


def note_of(case: dict[str, Any]) -> str:
    lines: list[str] = []
    for item in case["lines"]:
        lines += [item["line"]] * item["times"] if isinstance(item, dict) else [item]
    return TABLE["text"] + "\n" + "".join(x + "\n" for x in lines)


def test_verify_js_follows_the_signature_line_table(blank: Any) -> None:
    """verify.js accepts and refuses exactly the notes the core and the court's script do."""
    notes = [note_of(c) for c in TABLE["cases"]]
    got = blank.evaluate("""async ([vkey, notes]) => {
        const key = await DL.parseVkey(vkey);
        const out = [];
        for (const note of notes) {
            try { const cp = DL.parseCheckpoint(note); await DL.verifyNote(cp, key); out.push("accept"); }
            catch (e) { out.push("refuse: " + e.message); }
        }
        return out;
    }""", [TABLE["log_vkey"], notes])
    mismatches = [(c["name"], g) for c, g in zip(TABLE["cases"], got, strict=True) if g.split(":")[0] != c["expect"]]
    assert not mismatches, mismatches


def test_verify_js_checks_the_go_made_cosignatures(blank: Any) -> None:
    """Each vector's cosigned note: with a policy of its three witnesses, every cosignature verifies with
    its timestamp and 'all' is met; a quorum naming a witness that did not sign is not met."""
    for vector in COSIGNATURES:
        witnesses = "\n".join(f"witness w{i} {c['vkey']}" for i, c in enumerate(vector["cosignatures"]))
        policy = f"log {vector['log_vkey']}\n{witnesses}\ngroup all3 all w0 w1 w2\nquorum all3\n"
        absent = CosignerSigner("absent.example/w", bytes(32)).verifier
        stricter = f"{witnesses}\nwitness w3 {absent}\ngroup g all w0 w3\nquorum g\n"
        result = blank.evaluate("""async ([vkey, note, policy, stricter]) => {
            const key = await DL.parseVkey(vkey);
            const parsed = DL.parseNote(note);
            await DL.verifyNote(parsed, key);
            const met = await DL.checkWitnesses(parsed, await DL.parsePolicy(policy), key);
            const not = await DL.checkWitnesses(parsed, await DL.parsePolicy(stricter), key);
            return [met.met, met.who, not.met];
        }""", [vector["log_vkey"], vector["cosigned_note"], policy, stricter])
        assert result[0] is True and result[2] is False, vector["desc"]
        assert result[1] == [f"w{i} at {t}" for i, t in enumerate(["2023-03-20T12:25:47Z", "2026-05-28T20:26:40Z",
                                                                     "1970-01-01T00:00:01Z"])]


@pytest.mark.parametrize(("policy", "match"), [
    ("", "no quorum line"),
    ("quorum a\n", "bad quorum"),
    ("witness none {w}\nquorum none\n", "predefined"),
    ("witness a {w}\nwitness b {w}\nquorum a\n", "same key"),
    ("witness a {w}\ngroup g 2 a\nquorum g\n", "bad threshold"),
    ("witness a {w}\ngroup g any a a\nquorum g\n", "listed twice"),
    ("witnesses a {w}\nquorum none\n", "unknown keyword"),
    ("witness a {log}\nquorum none\n", "0x04"),
])
def test_verify_js_refuses_malformed_policies(blank: Any, policy: str, match: str) -> None:
    """verify.js's policy parser refuses what ledger/core/tlog_policy.py refuses (tests/unit/test_tlog_policy.py)."""
    w = str(CosignerSigner("w.example/w", bytes([3]) * 32).verifier)
    log = COSIGNATURES[0]["log_vkey"]
    message = blank.evaluate("""async (text) => { try { await DL.parsePolicy(text); return "parsed"; }
                                                catch (e) { return e.message; } }""",
                             policy.format(w=w, log=log))
    assert match in message


@pytest.fixture
def demo_page(browser: Any, demo: Any) -> Iterator[Any]:
    ctx = browser.new_context(base_url=demo.base, viewport={"width": 1280, "height": 900})
    ctx.add_init_script(axe_source())
    page = ctx.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    ctx.close()
    assert not errors, errors


def test_pinned_policy_decides_the_pages_verification(demo_page: Any, demo: Any) -> None:
    """On /trust the reader pins the trust root and a witness policy (accessible form, axe clean). With
    'quorum none' the checkpoint and an entry verify; with a quorum of a witness the ledger's
    (unwitnessed) checkpoint does not meet, both pages say so."""
    page = demo_page
    page.goto("/signin")
    page.get_by_label("API token").fill(demo.tokens["oversight"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    vkey = str(demo.ledger.trust_root())
    page.goto("/trust")
    page.get_by_label("Published verifier key").fill(vkey)
    page.get_by_role("button", name="Pin this key").click()
    witness = CosignerSigner("witness.tigta.example/w1", bytes([2]) * 32).verifier
    page.get_by_label(re.compile("^Witness policy")).fill(f"log {vkey}\nwitness tigta {witness}\nquorum none\n")
    page.get_by_role("button", name="Pin this policy").click()
    expect(page.locator("#pinned-policy")).to_have_text(re.compile("^✔ Witness policy pinned: quorum none"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "trust-policy.png"), full_page=True)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    assert not [v["id"] for v in result["violations"] if v["impact"] in ("serious", "critical")]

    page.goto("/checkpoints")
    page.get_by_role("button", name="Check its signature in this browser").click()
    expect(page.locator("#verify-result")).to_have_text(re.compile("^✔ Signature valid"))
    page.goto("/entries/1")
    expect(page.locator("#verify-result")).to_have_text(re.compile("^✔ Verified"))

    page.goto("/trust")
    page.get_by_label(re.compile("^Witness policy")).fill(f"log {vkey}\nwitness tigta {witness}\nquorum tigta\n")
    page.get_by_role("button", name="Pin this policy").click()
    expect(page.locator("#pinned-policy")).to_have_text(re.compile("quorum tigta"))
    page.goto("/checkpoints")
    page.get_by_role("button", name="Check its signature in this browser").click()
    below = re.compile("^✘ Not verified — below the pinned policy's quorum")
    expect(page.locator("#verify-result")).to_have_text(below)
    page.goto("/entries/1")
    expect(page.locator("#verify-result")).to_have_text(re.compile("below the pinned policy's quorum"))
