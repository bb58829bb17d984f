"""`matcher run` is idempotent and safe to restart: killed with SIGKILL mid-run and run again, every request
is matched exactly once; a bulk match result cut short between two batches is finished byte for byte."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from ledger.authoring import disclosure as dc
from ledger.authoring.trust import key_registration
from ledger.bootstrap import open_ledger
from ledger.client.keyring import Keyring
from ledger.config import Settings
from ledger.core.b64 import b64decode
from ledger.core.entry import parse_entry
from ledger.core.statement import parse_statement
from ledger.domain.bulk import bulk_request, opened_chunk_lines, submit_bulk
from ledger.domain.masterfile import MasterFile
from ledger.domain.matcher_run import run_once
from ledger.domain.matcher_store import import_extract, new_key, read_key
from ledger.domain.matching import MatcherPrincipal
from ledger.domain.service import DisclosureService
from ledger.policy import DEFAULT_POLICY
from ledger.sealed import SealedKeys, SealedStore

ORIGIN = "ledger.test.example/disclosures"
AGENCY = "DHS/ICE"
MATCHER = "irs.gov/matcher"


def _lines(master: MasterFile, first: int, n: int) -> list[dc.Line]:
    people = master.records[first:first + n]
    return [dc.Line(p.tin, p.name, p.address if k % 3 else "Failed to Provide", ("2024",), "open case")
            for k, p in enumerate(people)]


def _common() -> dict:
    return {"exception": "6103(i)(2)", "agency": AGENCY, "statute": "8 USC 1253(a)(1)",
            "purpose": "criminal_investigation", "purpose_text": "fictional", "fields": ["name", "address"],
            "recipients": [_recipient()]}


def _recipient() -> dc.Recipient:
    """Agent A, the principal who attests for the slot."""
    return dc.Recipient("Agent A", AGENCY, principal="ice.dhs.gov/agent-a")


def build(tmp: Path, inline: int, lines: int, bulk_lines: int):
    """A ledger on SQLite with ``inline`` requests of ``lines`` lines and one bulk request of ``bulk_lines``
    filed in the middle; the matcher's key in the keyring and its store holding the master file."""
    var = tmp / "var"
    settings = Settings.from_env(None, var)
    keys = SealedKeys.generate(tmp / "sealed")
    keyring = Keyring(var / "keyring")
    master = MasterFile.generate(max(400, inline * lines + bulk_lines), 11)
    ids = []
    with open_ledger(settings) as ledger, SealedStore(settings.db_url, keys) as sealed:
        admin = keyring.new(ORIGIN + "/admin")
        ledger.initialise(ORIGIN, str(admin.verifier), DEFAULT_POLICY)
        ice = keyring.new("ice.dhs.gov/director")
        ledger.append(key_registration(admin, ice, ["requester"], {"agency": AGENCY, "category": "agency_head"}))
        ledger.append(key_registration(admin, keyring.new(MATCHER), ["matcher"], {"agency": "IRS"}))
        ledger.append(key_registration(admin, keyring.new("ice.dhs.gov/agent-a"), ["recipient"], {"agency": AGENCY},
                                       [ice]))  # a recipient is countersigned by a key of its agency
        service = DisclosureService(ledger, sealed, keys)
        for i in range(inline):
            if i == inline // 2 and bulk_lines:
                bulk = bulk_request(ice, lines=_lines(master, inline * lines, bulk_lines), case_ids=["B"],
                                    seed=service.issue_seed(ice.name, "request"), **_common())
                submit_bulk(service.submit_batch, bulk)
                ids.append(bulk.statement_id)
            sub = dc.request(ice, lines=_lines(master, i * lines, lines), case_ids=[f"C{i}"],
                             seed=service.issue_seed(ice.name, "request"), **_common())
            service.submit(sub.note, sub.openings)
            ids.append(sub.statement_id)
        service.seeds.flush()
    new_key(tmp / "matcher.key")
    extract = tmp / "extract.csv"
    with extract.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["tin", "tin_type", "name", "address", "dob"])
        w.writerows([r.tin, r.tin_type, r.name, r.address, r.dob or ""] for r in master.records)
    import_extract(extract, var / "matcher" / "master.store", read_key(tmp / "matcher.key"))
    return settings, keys, keyring, master, ids


def match_results(settings: Settings) -> tuple[Counter, int, set]:
    """Match results in the log by request, the refused (blocked) entries, and the requests matched completely."""
    with open_ledger(settings) as ledger:
        buf = io.BytesIO()
        ledger.export(buf)
        by_request: Counter = Counter()
        for line in buf.getvalue().splitlines():
            stmt = parse_statement(parse_entry(b64decode(json.loads(line)["entry_b64"])).statement)
            if stmt.type == "match_result":
                by_request[stmt.envelope["body"]["request"]] += 1
        with ledger.store.reading() as db:
            refused = int(db.all(f"SELECT COUNT(*) FROM {db.t('dl_refused')}")[0][0])
        complete = {r.id for r in ledger.synced_rules().state.requests.values() if r.match_complete}
    return by_request, refused, complete


def test_killed_with_sigkill_mid_run_then_run_again_matches_each_request_once(tmp_path):
    settings, _, _, _, ids = build(tmp_path, inline=24, lines=40, bulk_lines=1500)
    env = dict(os.environ, LEDGER_VAR=str(tmp_path / "var"), LEDGER_SEALED_KEY_DIR=str(tmp_path / "sealed"),
               LEDGER_MATCHER_KEY_FILE=str(tmp_path / "matcher.key"))
    env.pop("LEDGER_DB_URL", None)
    env.pop("LEDGER_MATCHER_STORE", None)
    argv = [sys.executable, "-m", "ledger.cli", "matcher", "run", "--key", MATCHER, "--batch-chunks", "1"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = 0
    deadline = time.monotonic() + 120
    while seen < len(ids) // 2 and time.monotonic() < deadline:
        if not proc.stdout.readline():
            break
        seen += 1
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
    _, _, complete = match_results(settings)
    assert 0 < len(complete) < len(ids)  # killed mid-run: some matched, some not
    again = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    by_request, refused, complete = match_results(settings)
    assert complete == set(ids)
    assert by_request == Counter(dict.fromkeys(ids, 1))  # each request matched exactly once
    assert refused == 0  # and no second attempt was ever refused into the log
    third = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert third.returncode == 0 and third.stdout == "" and "matched 0 requests" in third.stderr


def test_a_bulk_match_result_cut_short_is_finished_byte_for_byte(tmp_path):
    settings, keys, keyring, master, _ = build(tmp_path, inline=0, lines=0, bulk_lines=0)
    with open_ledger(settings) as ledger, SealedStore(settings.db_url, keys) as sealed:
        service = DisclosureService(ledger, sealed, keys)
        ice = keyring.get("ice.dhs.gov/director")
        bulk = bulk_request(ice, lines=_lines(master, 0, 300), seed=service.issue_seed(ice.name, "request"),
                            **_common())
        submit_bulk(service.submit_batch, bulk)
        matcher = MatcherPrincipal(keyring.get(MATCHER), master)
        state = ledger.synced_rules().state
        request = parse_statement(bulk.manifest.note)
        seed = service.issue_seed(MATCHER, "match_result")
        first = matcher.match_bulk(request, *opened_chunk_lines(ledger, state.parts[request.id], sealed), seed=seed)
        parts = list(first.parts())
        assert len(parts) == 4  # the manifest and three chunks
        service.submit_batch([p.note for p in parts[:2]], [o for p in parts[:2] for o in p.openings])
        time.sleep(1.1)  # a rebuilt manifest would be signed at another time
        assert not ledger.synced_rules().state.requests[request.id].match_complete
        done = list(run_once(service, matcher, batch_chunks=1))
        assert [(d.request, d.match_result, d.resumed, d.lines) for d in done] == [
            (request.id, first.statement_id, True, 300)]
        assert list(run_once(service, matcher)) == []
        for c in (1, 2):  # the chunks the second run added are the ones the first would have sent
            index = ledger.statement_index(f"{first.statement_id}.c{c}")
            assert parse_entry(ledger.entry(index)).statement == parts[c + 1].note
        assert ledger.synced_rules().state.requests[request.id].match_complete
    by_request, refused, _ = match_results(settings)
    assert by_request == Counter({request.id: 1}) and refused == 0


def test_a_bulk_result_begun_under_another_master_file_is_refused_not_finished(tmp_path):
    settings, keys, keyring, master, _ = build(tmp_path, inline=0, lines=0, bulk_lines=0)
    with open_ledger(settings) as ledger, SealedStore(settings.db_url, keys) as sealed:
        service = DisclosureService(ledger, sealed, keys)
        ice = keyring.get("ice.dhs.gov/director")
        bulk = bulk_request(ice, lines=_lines(master, 0, 300), seed=service.issue_seed(ice.name, "request"),
                            **_common())
        submit_bulk(service.submit_batch, bulk)
        state = ledger.synced_rules().state
        request = parse_statement(bulk.manifest.note)
        first = MatcherPrincipal(keyring.get(MATCHER), master).match_bulk(
            request, *opened_chunk_lines(ledger, state.parts[request.id], sealed),
            seed=service.issue_seed(MATCHER, "match_result"))
        parts = list(first.parts())
        service.submit_batch([p.note for p in parts[:2]], [o for p in parts[:2] for o in p.openings])
        size = ledger.size()
        replaced = MatcherPrincipal(keyring.get(MATCHER), MasterFile(master.records[100:]))
        skip: set[str] = set()
        done = list(run_once(service, replaced, skip=skip))
        assert [type(d).__name__ for d in done] == ["Failed"] and "cannot be rebuilt as it began" in done[0].reason
        assert skip == {request.id} and list(run_once(service, replaced, skip=skip)) == []  # not tried again
        assert ledger.size() == size


def _cli_env(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env.update(LEDGER_VAR=str(tmp / "var"), LEDGER_SEALED_KEY_DIR=str(tmp / "sealed"),
               LEDGER_MATCHER_KEY_FILE=str(tmp / "matcher.key"))
    return env


def test_follow_matches_requests_filed_while_it_runs_and_stops_on_sigterm(tmp_path):
    settings, keys, keyring, master, ids = build(tmp_path, inline=1, lines=3, bulk_lines=0)
    proc = subprocess.Popen([sys.executable, "-m", "ledger.cli", "matcher", "run", "--key", MATCHER, "--follow",
                             "--interval", "0.2"], env=_cli_env(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert json.loads(proc.stdout.readline())["request"] == ids[0]
        with open_ledger(settings) as ledger, SealedStore(settings.db_url, keys) as sealed:
            service = DisclosureService(ledger, sealed, keys)
            ice = keyring.get("ice.dhs.gov/director")
            later = dc.request(ice, lines=_lines(master, 10, 5), seed=service.issue_seed(ice.name, "request"),
                               **_common())
            service.submit(later.note, later.openings)
        found = json.loads(proc.stdout.readline())
        assert (found["request"], found["lines"], found["resumed"]) == (later.statement_id, 5, False)
        second = subprocess.run([sys.executable, "-m", "ledger.cli", "matcher", "run", "--key", MATCHER],
                                env=_cli_env(tmp_path), capture_output=True, text=True, timeout=120)
        assert second.returncode == 1 and "another matcher process holds" in second.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0 and "matched 2 requests" in proc.stderr.read()


def test_release_file_of_a_bulk_request_and_the_court_check_of_a_bulk_release(tmp_path, monkeypatch):
    """A request in bulk form (300 lines): matched, reviewed and released in bulk; the delivered file holds
    exactly the approved lines, read from the chunks, and the bundle's check reads the bulk release's items."""
    from ledger.cli import main
    from ledger.core.bundle_check import verify_bundle
    from ledger.core.bundle_format import BundleError, BundleFiles
    from ledger.core.delivered import delivered_file
    from ledger.core.keys import parse_vkey
    from ledger.domain.bulk import bulk_release, statement_items
    from ledger.domain.bundle import write_bundle
    from ledger.domain.officer import review_from_decisions, suggest
    from ledger.rules.engine import server_red_flags

    settings, keys, keyring, master, _ = build(tmp_path, inline=0, lines=0, bulk_lines=0)
    with open_ledger(settings) as ledger, SealedStore(settings.db_url, keys) as sealed:
        service = DisclosureService(ledger, sealed, keys)
        admin = keyring.get(ORIGIN + "/admin")
        for name, role, attrs in (("irs.gov/officer", "reviewer", {"agency": "IRS"}),
                                  ("irs.gov/releaser", "releaser", {"agency": "IRS"}),
                                  ("tigta.gov/auditor", "oversight", {"agency": "TIGTA"})):
            ledger.append(key_registration(admin, keyring.new(name), [role], attrs))
        ice = keyring.get("ice.dhs.gov/director")
        bulk = bulk_request(ice, lines=_lines(master, 0, 300), seed=service.issue_seed(ice.name, "request"),
                            **_common())
        submit_bulk(service.submit_batch, bulk)
        request = bulk.statement_id
        service.submit(dc.recipient_attestation(keyring.get("ice.dhs.gov/agent-a"), request, 0).note)
        service.submit(dc.safeguard_status(keyring.get("tigta.gov/auditor"), AGENCY, ssr_approved=True).note)
        assert [d.bulk for d in run_once(service, MatcherPrincipal(keyring.get(MATCHER), master))] == [True]
        state = ledger.synced_rules().state
        match = parse_statement(parse_entry(ledger.entry(ledger.statement_index(state.requests[request].match_id)))
                                .statement)
        decisions = [(item["line"], *suggest(item, True)) for item in statement_items(ledger, match, state.parts)]
        review = review_from_decisions(keyring.get("irs.gov/officer"), request, decisions,
                                       server_red_flags(state.requests[request]))
        submit_bulk(service.submit_batch, review)
        approved = [k for k, d, _ in decisions if d == "approve"]
        assert 150 < len(approved) < 300  # a bulk release; every third line a placeholder
    monkeypatch.setenv("LEDGER_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("LEDGER_SEALED_KEY_DIR", str(tmp_path / "sealed"))
    monkeypatch.delenv("LEDGER_DB_URL", raising=False)
    out = tmp_path / "delivered.jsonl"
    assert main(["release-file", request, "--review", review.statement_id, "--out", str(out)]) == 0
    data = out.read_bytes()
    rows = [json.loads(x) for x in data.splitlines()[1:]]
    assert [r["line"] for r in rows] == approved
    people = master.records[:300]
    assert all((r["name"], r["address"]) == (people[r["line"]].name, people[r["line"]].address) for r in rows)
    assert b"Failed to Provide" not in data
    with open_ledger(settings) as ledger, SealedStore(settings.db_url, keys) as sealed:
        service = DisclosureService(ledger, sealed, keys)
        release = bulk_release(keyring.get("irs.gov/releaser"), request, review.statement_id, approved,
                               ["name", "address"], [0], data)
        submit_bulk(service.submit_batch, release)
        forged = delivered_file(request, review.statement_id, ["name", "address"], [
            dict(r, name="Someone Else") if r["line"] == approved[-1] else r for r in rows])
        bundle = tmp_path / "bundle"
        write_bundle(ledger, request, bundle, openings=sealed.get_many, delivered=[out])
        vkey = parse_vkey((bundle / "trust_root.vkey").read_text().strip())

    def files(delivered):
        return BundleFiles(*((bundle / n).read_bytes() for n in ("bundle.json", "checkpoint", "entries.jsonl",
                                                                 "proofs.jsonl")), None,
                           (bundle / "openings.jsonl").read_bytes(), delivered)

    passed: list = []
    summary = verify_bundle(files((("delivered.jsonl", data),)), vkey, check_openings=True,
                            passed=lambda n, x: passed.append(n))
    assert summary.delivered == 1 and passed[-1] == "delivered"
    # a row dropped, or a value changed: no longer the file the release signed
    cut = data.split(b"\n")
    for bad in (b"\n".join(cut[:2] + cut[3:]), forged):
        with pytest.raises(BundleError, match="is no bundled release's file_sha256"):
            verify_bundle(files((("delivered.jsonl", bad),)), vkey, check_openings=True, passed=lambda n, x: None)


def test_a_request_that_cannot_be_matched_is_named_and_the_others_are_matched(tmp_path):
    """A request whose openings are gone from the sealed store: one line naming it (no value), the run goes
    on with the others and exits 1; nothing is appended for it."""
    from ledger.core.bundle_format import statement_commitments

    settings, keys, _, _, ids = build(tmp_path, inline=2, lines=3, bulk_lines=0)
    with open_ledger(settings) as ledger, SealedStore(settings.db_url, keys) as sealed:
        first = parse_statement(parse_entry(ledger.entry(ledger.statement_index(ids[0]))).statement)
        sealed.erase([c for f, c in statement_commitments(first) if f == "address"])
    done = subprocess.run([sys.executable, "-m", "ledger.cli", "matcher", "run", "--key", MATCHER],
                          env=_cli_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert [json.loads(x)["request"] for x in done.stdout.splitlines()] == [ids[1]]
    lines = done.stderr.strip().splitlines()
    assert lines[0] == (f"request {ids[0]} not matched: LedgerError: the sealed store holds no opening of 3 "
                        f"commitments of request {ids[0]}'s lines (erased?)")
    assert lines[1] == "matched 1 requests; 1 could not be matched (above)" and "Traceback" not in done.stderr
    by_request, refused, _ = match_results(settings)
    assert by_request == Counter({ids[1]: 1}) and refused == 0
