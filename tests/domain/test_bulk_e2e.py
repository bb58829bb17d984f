"""A bulk request end to end at reduced size (20,000 lines), on SQLite and PostgreSQL.

File in bulk form, match, review from the officer's CSV sheet, release in two parts, correct a
count; then every count is checked against an independent computation from the line kinds
the test drew (not from the matcher, the rules or the engine), and again by re-reading the
statements from the log itself.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from demo import bulk_story
from ledger.authoring import disclosure as dc
from ledger.authoring.trust import signed
from ledger.core.entry import parse_entry
from ledger.core.lines import CHUNK_LINES, chunk_count
from ledger.core.statement import parse_statement
from ledger.domain.bulk import bulk_release, bulk_request, opened_chunk_lines, statement_items, submit_bulk
from ledger.domain.bundle import write_bundle
from ledger.domain.masterfile import MasterFile
from ledger.domain.matching import MatcherPrincipal
from ledger.domain.officer import read_decisions, review_from_decisions, work_queue, write_review, write_sheet
from ledger.domain.refusals import RuleRefusal
from ledger.rules.engine import server_red_flags
from ledger.store.fsck import fsck

LINES = 20_000
VERIFIER = Path(__file__).resolve().parents[2] / "scripts" / "verify_ledger.py"


@pytest.fixture(scope="module")
def master():
    return MasterFile.generate(3000, 11)


def _log_statements(ledger):
    for _idx, data in ledger.iter_entries():
        yield parse_statement(parse_entry(data).statement)


def test_bulk_request_end_to_end(bulk_world, master, tmp_path):
    d, service, keys = bulk_world
    story = bulk_story.run(service, keys, master, LINES, tmp_path, seed=7)
    expected = bulk_story.expected_counts(story.kinds)
    assert story.counts == expected
    assert expected["approved"] > 500 and expected["matched"] < LINES  # the draw has every kind

    # Re-count from the log's own statements: chunks per bulk statement, lines released.
    stmts = list(_log_statements(d.ledger))
    by_id = {s.id: s for s in stmts}
    chunks: dict[str, list] = {}
    for s in stmts:
        if s.type == "chunk":
            chunks.setdefault(s.envelope["body"]["of"], []).append(s.envelope["body"])
    request = by_id[story.request_id].envelope["body"]
    assert request["bulk"]["line_count"] == LINES
    assert len(chunks[story.request_id]) == chunk_count(LINES) == request["bulk"]["chunk_count"]
    assert [c["chunk"] for c in chunks[story.request_id]] == list(range(chunk_count(LINES)))
    released = [k for rid in story.release_ids for c in chunks[rid] for k in c["lines"]]
    exact = [k for k, kind in enumerate(story.kinds) if kind == "exact"]
    assert sorted(released) == exact  # exactly the lines whose name and address the IRS matched
    assert len(set(released)) == len(released)
    match_items = [item for c in chunks[story.match_id] for item in c["lines"]]
    assert [m["line"] for m in match_items] == list(range(LINES))
    assert sum(m["matched"] for m in match_items) == expected["matched"]
    for m, kind in zip(match_items, story.kinds, strict=True):
        if kind == "tin_only":
            assert m["match_basis"] == ["tin"]
        if kind in ("placeholder", "tin_only"):
            assert not m["address_usable"]
    correction = by_id[story.correction_id].envelope["body"]
    assert correction["corrects"] == story.release_ids[0] and correction["new_value"] == expected["released"]

    # Each chunk is its own entry: the request's own entry is one small manifest, not the 20,000
    # lines; a chunk's entry holds one chunk.
    from ledger.core.entry import parse_entry

    manifest = parse_entry(d.ledger.entry(d.ledger.statement_index(story.request_id))).statement
    assert len(manifest) < 5_000
    chunk0 = parse_entry(d.ledger.entry(d.ledger.statement_index(f"{story.request_id}.c0"))).statement
    assert len(json.loads(chunk0.split("\n")[0])["body"]["lines"]) == CHUNK_LINES

    # Pseudonyms were stored at ingest for every matched line, keyed by the chunk's index.
    with d.ledger.store.reading() as db:
        (count,), = db.all(f"SELECT COUNT(*) FROM {db.t('dl_pseudonyms')}")
    assert count == expected["matched"]

    # The review goes back out to CSV exactly as the sheet went in.
    state = d.engine.state
    review = by_id[story.review_id]
    out = io.StringIO()
    assert write_review(statement_items(d.ledger, review, state.parts), out) == LINES
    sheet = [(r["line"], r["decision"], r["reason"]) for r in csv.DictReader(story.sheet_path.open())]
    logged = [(r["line"], r["decision"], r["reason"]) for r in csv.DictReader(io.StringIO(out.getvalue()))]
    assert logged == sheet
    assert fsck(d.ledger.store).ok

    # The evidence bundle, verified offline by the court's one-file verifier, with the openings;
    # and the counts once more from the bundle's own entries.
    exact_line = exact[0]
    placeholder_line = story.kinds.index("placeholder")
    bundle = tmp_path / "bundle"
    write_bundle(d.ledger, story.request_id, bundle, lines=(exact_line, placeholder_line), openings=service.openings)
    proc = subprocess.run([sys.executable, str(VERIFIER), "--bundle", str(bundle), "--openings",
                           "--vkey", str(d.ledger.trust_root())], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    bundled = [parse_statement(parse_entry(base64.b64decode(json.loads(line)["entry_b64"])).statement)
               for line in (bundle / "entries.jsonl").read_text().splitlines()]
    bundled_released = [k for s in bundled if s.type == "chunk" and s.envelope["body"]["of"] in story.release_ids
                        for k in s.envelope["body"]["lines"]]
    assert sorted(bundled_released) == exact
    line_records = [json.loads(x) for x in (bundle / "lines.jsonl").read_text().splitlines()]
    assert {(r["kind"], r["line"]) for r in line_records} >= {("request", exact_line), ("release", exact_line),
                                                             ("request", placeholder_line)}


def test_bulk_rules_per_chunk(bulk_world, master):
    """A chunk out of order, chunks that do not hash to the manifest's root, and a bulk release
    of a line that was not approved are each refused, naming the rule."""
    d, service, keys = bulk_world
    lines, _ = bulk_story.make_lines(master, 3 * CHUNK_LINES + 5, seed=3)
    ice = keys["ice.dhs.gov/acting-director"]
    common = dict(exception="6103(i)(2)", agency="DHS/ICE", statute="8 USC 1253(a)(1)",
                  purpose="criminal_investigation", purpose_text="x", fields=["name", "address"],
                  recipients=[dc.Recipient("Agent", "DHS/ICE", principal="ice.dhs.gov/ero-agent-0")])
    req = bulk_request(ice, lines=lines, seed=service.issue_seed(ice.name, "request"), **common)
    service.submit(req.manifest.note, req.manifest.openings)
    first, second = req.chunk(0), req.chunk(1)
    with pytest.raises(RuleRefusal) as refused:
        service.submit(second.note, second.openings)
    assert refused.value.rules == ["bulk.order"]
    service.submit(first.note, first.openings)
    assert work_queue(d.engine.state) == []  # nothing builds on a request before its last chunk

    other_seed = service.issue_seed(ice.name, "request")
    other = bulk_request(ice, lines=lines, seed=other_seed, **common)
    # the same seed: its chunks' salts are the right ones, and only their items differ
    reordered = bulk_request(ice, lines=list(reversed(lines)), seed=other_seed, **common)
    service.submit(other.manifest.note, other.manifest.openings)
    parts = [other.chunk(c) for c in range(3)]
    service.submit_batch([p.note for p in parts], [o for p in parts for o in p.openings])
    wrong_last = reordered.chunk(3)
    body = parse_statement(wrong_last.note).envelope["body"]
    body["of"] = other.statement_id
    with pytest.raises(RuleRefusal) as refused:
        service.submit(signed([ice], "chunk", body), wrong_last.openings)
    assert refused.value.rules == ["bulk.root"]
    submit_bulk(service.submit_batch, other)  # the stored part returns its indices; the last chunk lands
    assert d.engine.state.requests[other.statement_id].complete

    # Match, review (approve only what the rules allow), then release one refused line in bulk form.
    matcher = MatcherPrincipal(keys["irs.gov/matcher"], master)
    manifest = parse_statement(other.manifest.note)
    match = matcher.match_bulk(manifest, *opened_chunk_lines(d.ledger, d.engine.state.parts[manifest.id],
                                                             service.sealed),
                               seed=service.issue_seed(matcher.key.name, "match_result"))
    submit_bulk(service.submit_batch, match)
    assert [q.request for q in work_queue(d.engine.state)] == [other.statement_id]
    sheet = io.StringIO()
    write_sheet(statement_items(d.ledger, parse_statement(match.manifest.note), d.engine.state.parts),
                manifest.envelope["body"], sheet)
    decisions = read_decisions(io.StringIO(sheet.getvalue()), len(lines))
    flags = server_red_flags(d.engine.state.requests[other.statement_id])
    review = review_from_decisions(keys["irs.gov/disclosure/officer-0042"], other.statement_id, decisions, flags)
    submit_bulk(service.submit_batch, review)
    refused_line = next(k for k, decision, _ in decisions if decision == "refuse")
    release = bulk_release(keys["irs.gov/disclosure/release-0007"], other.statement_id, review.statement_id,
                           [refused_line], ["name", "address"], [0], b"file")
    service.submit(dc.safeguard_status(keys["tigta.gov/auditor-02"], "DHS/ICE", ssr_approved=True).note)
    service.submit(dc.recipient_attestation(keys["ice.dhs.gov/ero-agent-0"], other.statement_id, 0).note)
    service.submit(release.manifest.note)  # the manifest breaks no rule: its lines come in chunks
    chunk = release.chunk(0)
    with pytest.raises(RuleRefusal) as refused:
        service.submit(chunk.note)
    assert "release.unapproved_lines" in refused.value.rules
