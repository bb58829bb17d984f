"""An operator on PostgreSQL takes one § 6103(i)(2) request from `init` to the court's check of the file
its recipient receives, with the commands and inputs docs/OPERATIONS.md § 18 shows and nothing else:
each command runs as its own process, as the operator would type it, and each step's output is checked."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from storefix import drop_schema, postgres_base_url

from ledger.domain.masterfile import MasterFile

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
VERIFIER = ROOT / "scripts" / "verify_ledger.py"
ORIGIN = "ledger.irs.example/disclosures"
PRINCIPALS = [  # OPERATIONS § 18.1
    ["ice.dhs.gov/director", "--role", "requester", "--attr", "agency=DHS/ICE", "--attr", "category=agency_head"],
    ["irs.gov/disclosure/officer-0042", "--role", "reviewer", "--attr", "agency=IRS"],
    ["irs.gov/disclosure/release-0007", "--role", "releaser", "--attr", "agency=IRS"],
    ["irs.gov/matcher", "--role", "matcher", "--attr", "agency=IRS"],
    ["ice.dhs.gov/agent-0", "--role", "recipient", "--attr", "agency=DHS/ICE",
     "--countersign", "ice.dhs.gov/director"],
    ["tigta.gov/auditor-01", "--role", "oversight", "--attr", "agency=TIGTA"],
    ["uscourts.gov/mad/judge-a", "--role", "court", "--attr", "court=D.Mass.",
     "--countersign", "uscourts.gov/mad/clerk"],
]


class Operator:
    """Runs `disclosure-ledger …` in a folder of its own, with the environment OPERATIONS § 18 exports."""

    def __init__(self, folder: Path, db_url: str) -> None:
        self.folder = folder
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
        self.env["LEDGER_DB_URL"] = db_url
        exe = Path(sys.executable).parent / "disclosure-ledger"
        self.command = [str(exe)] if exe.exists() else [sys.executable, "-m", "ledger.cli"]

    def export(self, name: str, value: str) -> None:
        self.env[name] = value

    def run(self, *argv: str, ok: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([*self.command, *argv], cwd=self.folder, env=self.env, capture_output=True,
                              text=True, timeout=300)
        if ok:
            assert done.returncode == 0, f"{argv}: {done.stderr}"
            assert "Traceback" not in done.stderr
        return done

    def to_file(self, name: str, *argv: str) -> Path:
        (self.folder / name).write_text(self.run(*argv).stdout, encoding="utf-8")
        return self.folder / name

    def court(self, *argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(VERIFIER), *argv], cwd=self.folder, capture_output=True,
                              text=True, timeout=300)


@pytest.fixture
def operator(tmp_path):
    base = postgres_base_url()
    schema = "t_" + uuid.uuid4().hex[:16]
    shutil.copy(VERIFIER, tmp_path / "verify_ledger.py")
    yield Operator(tmp_path, f"{base}?schema={schema}")
    drop_schema(base, schema)


def _queued(op: Operator, request: str) -> list[dict]:
    """The request's rows in `officer queue` (JSON lines)."""
    return [q for q in map(json.loads, op.run("officer", "queue").stdout.splitlines()) if q["request"] == request]


def _attest_and_safeguard(op: Operator, request: str) -> None:
    """The named recipient's attestation and the oversight body's safeguard status, each signed with its
    own key (`client attestation`, `client safeguard-status`, docs/CLIENT.md) and submitted with `submit`."""
    steps = (("attestation", "ice.dhs.gov/agent-0", {"request": request, "recipient": 0}),
             ("safeguard-status", "tigta.gov/auditor-01",
              {"agency": "DHS/ICE", "ssr_approved": True, "open_findings": 0, "cap_implementation_date": None}))
    for command, key, body in steps:
        (op.folder / f"{command}.json").write_text(json.dumps(body), encoding="utf-8")
        op.to_file(f"{command}-submission.json", "client", command, "--key", key, "--input", f"{command}.json")
        assert json.loads(op.run("submit", f"{command}-submission.json").stdout)["duplicate"] is False


def _example_spec(op: Operator) -> dict:
    """The request spec `client request --example` prints after its steps: the JSON object from its first
    line holding only "{"."""
    text = op.run("client", "request", "--example").stdout
    start = text.index("\n{\n") + 1
    spec, _ = json.JSONDecoder().raw_decode(text[start:])
    return spec


def test_one_i2_request_end_to_end_with_the_documented_commands(operator: Operator):
    op = operator
    # 18.1 the ledger, the keys, the principals
    init = op.run("init", "--origin", ORIGIN, "--court-clerk", "uscourts.gov/mad/clerk=D.Mass.")
    assert json.loads(init.stdout.splitlines()[0])["index"] == 0
    made = json.loads(op.run("sealed-keys", "new", "--out", "sealed").stdout)
    assert set(made["created"]) == {"pseudonym", "sealed"}
    op.export("LEDGER_SEALED_KEY_DIR", str(op.folder / "sealed"))
    for argv in PRINCIPALS:
        assert json.loads(op.run("keys", "new", *argv).stdout)["duplicate"] is False
    listed = op.run("keys", "list").stdout
    for argv in PRINCIPALS:
        assert argv[0] in listed and f"roles={argv[2]}" in listed

    # 18.2 the matcher's store: a generated extract, in the documented CSV format, holding the people the
    # documented request names (three with the request's own addresses, one at an address of record)
    spec = _example_spec(op)
    named = spec["lines"]
    assert len(named) == 4 and named[3]["address"] == "Failed to Provide"
    taken = {x["tin"].replace("-", "") for x in named}
    master = [r for r in MasterFile.generate(5_000, 2026) if r.tin not in taken]
    with (op.folder / "extract.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["tin", "tin_type", "name", "address", "dob"])
        w.writerows([r.tin, r.tin_type, r.name, r.address, r.dob or ""] for r in master[:2_500])
        w.writerows([x["tin"], "ITIN", x["name"], x["address"], ""] for x in named[:3])
        w.writerow([named[3]["tin"], "ITIN", named[3]["name"], "4 Birch Ln, Boston, MA 02110", ""])
        w.writerows([r.tin, r.tin_type, r.name, r.address, r.dob or ""] for r in master[2_500:])
    made = json.loads(op.run("matcher", "new-key", "--out", "matcher.key").stdout)
    assert len(made["key_id"]) == 16 and oct((op.folder / "matcher.key").stat().st_mode)[-3:] == "600"
    op.export("LEDGER_MATCHER_KEY_FILE", str(op.folder / "matcher.key"))
    assert json.loads(op.run("matcher", "import-master", "extract.csv").stdout) == {
        "imported": len(master) + 4, "store": "var/matcher/master.store"}

    # 18.3 the request from the documented example, as it is
    (op.folder / "spec.json").write_text(json.dumps(spec, indent=2), encoding="utf-8")
    people = named[:3]
    op.to_file("seed-request.txt", "client", "seed-request", "--key", "ice.dhs.gov/director", "--type", "request",
               "--origin", ORIGIN)
    op.to_file("seed.json", "salt-seed", "seed-request.txt")
    op.to_file("submission.json", "client", "request", "--key", "ice.dhs.gov/director", "--spec", "spec.json",
               "--seed", "seed.json")
    filed = json.loads(op.run("submit", "submission.json").stdout)
    request = filed["id"]
    assert filed["duplicate"] is False
    assert [q["waits_for"] for q in _queued(op, request)] == [["match_result"]]  # filed, not matched yet
    matched = [json.loads(x) for x in op.run("matcher", "run", "--key", "irs.gov/matcher").stdout.splitlines()]
    assert [(m["request"], m["lines"], m["matched"], m["bulk"]) for m in matched] == [(request, 4, 4, False)]
    assert op.run("matcher", "run", "--key", "irs.gov/matcher").stdout == ""  # each request matched once
    _attest_and_safeguard(op, request)

    # 18.4 review, the delivered file, the release
    queue = _queued(op, request)
    assert len(queue) == 1 and queue[0]["waits_for"] == ["review"]
    assert "placeholder_addresses" in queue[0]["red_flags"]
    op.run("officer", "sheet", request, "--out", "sheet.csv")
    rows = list(csv.DictReader((op.folder / "sheet.csv").open(encoding="utf-8")))
    assert [(r["line"], r["decision"]) for r in rows] == [("0", "approve"), ("1", "approve"), ("2", "approve"),
                                                          ("3", "refuse")]
    review = json.loads(op.run("officer", "review", request, "--csv", "sheet.csv", "--key",
                               "irs.gov/disclosure/officer-0042").stdout)["review"]
    assert [q["waits_for"] for q in _queued(op, request)] == [["release"]]  # attested, safeguarded, reviewed
    written = json.loads(op.run("release-file", request, "--review", review, "--out", "delivered.jsonl").stdout)
    assert written["lines"] == [0, 1, 2] and written["fields"] == ["name", "address"]
    delivered = [json.loads(x) for x in (op.folder / "delivered.jsonl").read_text(encoding="utf-8").splitlines()]
    assert delivered[0] == {"fields": ["name", "address"], "format": "dl-disclosure-file/v1", "lines": 3,
                            "request": request, "review": review}
    assert delivered[1:] == [{"line": k, "name": p["name"], "address": p["address"]} for k, p in enumerate(people)]
    text = (op.folder / "delivered.jsonl").read_text(encoding="utf-8")
    assert "Failed to Provide" not in text and named[3]["name"] not in text  # not the placeholder line
    op.to_file("release.json", "client", "release", "--key", "irs.gov/disclosure/release-0007", "--request",
               request, "--review", review, "--lines", "0,1,2", "--fields", "name,address", "--file",
               "delivered.jsonl")
    assert json.loads(op.run("submit", "release.json").stdout)["duplicate"] is False
    assert _queued(op, request) == []  # every approved line released: nothing left to do

    # 18.5 verify, export, bundle, and the court's check
    verified = op.run("verify").stdout
    assert verified.startswith("ok: ")
    size = int(verified.split()[1])
    op.run("export", "--out", "export.jsonl")
    assert len((op.folder / "export.jsonl").read_bytes().splitlines()) == size
    op.to_file("checkpoint.txt", "checkpoint")
    op.to_file("vkey.txt", "vkey")
    bundled = op.run("bundle", request, "--out", "bundle", "--openings", "--delivered", "delivered.jsonl")
    assert "1 delivered files" in bundled.stderr
    court = op.court("--vkey", "vkey.txt", "--checkpoint", "checkpoint.txt", "--export", "export.jsonl", "--json")
    report = json.loads(court.stdout)
    assert court.returncode == 0 and report["ok"] and report["size"] == size, court.stdout + court.stderr
    court = op.court("--bundle", "bundle", "--vkey", "vkey.txt", "--openings", "--json")
    report = json.loads(court.stdout)
    assert court.returncode == 0 and report["ok"], court.stdout + court.stderr
    checks = {c["check"] if isinstance(c, dict) else c[0] for c in report["checks"]}
    assert {"checkpoint", "inclusion", "signatures", "openings", "delivered"} <= checks
    for secret in [p["name"] for p in named] + [p["tin"] for p in named] + [p["address"] for p in people]:
        assert secret not in court.stdout + court.stderr + verified
