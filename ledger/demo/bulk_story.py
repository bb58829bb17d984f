"""The June 2025 request at any size: file, match, review from a CSV sheet, release, correct.

Lines are drawn from a synthetic master file in five kinds, as the 2025 request's lines were:
``exact`` (the requester's TIN, name and address agree with the IRS record), ``placeholder``
(TIN and name right, address "Failed to Provide" / "NA NA" …), ``tin_only`` (TIN right, name and
address placeholders), ``moved`` (TIN and name right, a real address that is not the IRS's) and
``unknown`` (nobody in the master file). Only ``exact`` lines may release an address. The kinds
are returned beside the counts so that a test can check every count independently.

Used by tests/domain/test_bulk_e2e.py (20,000 lines) and bench/bench_bulk.py (1,300,000 lines).
"""

from __future__ import annotations

import io
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ledger.client import disclosure as dc
from ledger.client.trust import key_registration
from ledger.domain.bulk import bulk_release, bulk_request, statement_items, submit_bulk
from ledger.domain.masterfile import MasterFile
from ledger.domain.matching import MatcherPrincipal
from ledger.domain.officer import read_decisions, review_from_decisions, write_sheet
from ledger.domain.service import DisclosureService
from ledger.keys import SignerKey
from ledger.rules.engine import RuleEngine, server_red_flags
from ledger.statement import parse_statement

AGENCY = "DHS/ICE"
KINDS = ("exact", "placeholder", "tin_only", "moved", "unknown")
DEFAULT_MIX = {"exact": 0.05, "placeholder": 0.55, "tin_only": 0.2, "moved": 0.05, "unknown": 0.15}
PLACEHOLDERS = ("Failed to Provide", "NA NA", "FAILED TO PROVIDE", "Unknown Address", "N/A")
PRINCIPALS: dict[str, tuple[list[str], dict[str, str]]] = {
    "ice.dhs.gov/acting-director": (["requester"], {"agency": AGENCY, "category": "agency_head"}),
    "irs.gov/disclosure/officer-0042": (["reviewer"], {"agency": "IRS", "office": "Disclosure"}),
    "irs.gov/disclosure/release-0007": (["releaser"], {"agency": "IRS", "office": "Disclosure"}),
    "irs.gov/matcher": (["matcher"], {"agency": "IRS", "office": "Matching"}),
    "tigta.gov/auditor-02": (["oversight"], {"agency": "TIGTA"}),
    "ice.dhs.gov/ero-agent-0": (["recipient"], {"agency": AGENCY}),
}


@dataclass
class BulkStory:
    """What happened, stage by stage, with the time each stage took."""

    request_id: str = ""
    match_id: str = ""
    review_id: str = ""
    release_ids: list[str] = field(default_factory=list)
    correction_id: str = ""
    kinds: list[str] = field(default_factory=list)  # kind of each request line
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # this process's CPU time (a noisy machine)
    sheet_csv: str = ""


def register(service: DisclosureService, admin: SignerKey) -> dict[str, SignerKey]:
    keys = {}
    for name, (roles, attributes) in PRINCIPALS.items():
        key = SignerKey.generate(name)
        service.ledger.append(key_registration(admin, key, roles, attributes))
        keys[name] = key
    return keys


def make_lines(master: MasterFile, n: int, seed: int,
               mix: dict[str, float] | None = None) -> tuple[list[dc.Line], list[str]]:
    """``n`` request lines of the five kinds (seeded), and the kind of each."""
    rng = random.Random(seed)  # noqa: S311 - fictional data
    records = master.records
    weights = mix or DEFAULT_MIX
    kinds = rng.choices(list(weights), weights=list(weights.values()), k=n)
    lines = []
    reason = "Subject is subject to a final order of removal"
    for k, kind in enumerate(kinds):
        r = records[rng.randrange(len(records))]
        if kind == "exact":
            line = dc.Line(r.tin, r.name, r.address, ("2024",), reason)
        elif kind == "placeholder":
            line = dc.Line(r.tin, r.name, rng.choice(PLACEHOLDERS), ("2024",), reason)
        elif kind == "tin_only":
            line = dc.Line(r.tin, "NA NA", rng.choice(PLACEHOLDERS), ("2024",), reason)
        elif kind == "moved":
            other = records[rng.randrange(len(records))]
            while other.address == r.address or master.by_name_address(r.name, other.address):
                # (else the name and that address identify someone, and the match is theirs)
                other = records[rng.randrange(len(records))]
            line = dc.Line(r.tin, r.name, other.address, ("2024",), reason)
        else:
            tin = f"666{rng.randrange(1_000_000):06d}"
            while master.by_tin(tin) is not None:
                tin = f"666{rng.randrange(1_000_000):06d}"
            line = dc.Line(tin, f"Nobody Known {k}", "NA NA", ("2024",), reason)
        lines.append(line)
    return lines, kinds


def run(service: DisclosureService, keys: dict[str, SignerKey], master: MasterFile, n: int, seed: int = 2025,
        release_share: float = 0.5, mix: dict[str, float] | None = None,
        progress: Callable[[str, int], None] | None = None) -> BulkStory:
    """File a request of ``n`` lines under (i)(2), match it, review it from a CSV sheet, release
    ``release_share`` of the approved lines (the rest later, in a second release), correct a count."""
    story = BulkStory()
    engine: RuleEngine = service.ledger.recorder.chain.rules
    ice = keys["ice.dhs.gov/acting-director"]
    lines, story.kinds = make_lines(master, n, seed, mix)

    def stage(name: str) -> Callable[[], None]:
        start, cpu = time.perf_counter(), time.process_time()

        def done() -> None:
            story.seconds[name] = time.perf_counter() - start
            story.cpu_seconds[name] = time.process_time() - cpu
        return done

    service.submit(dc.safeguard_status(keys["tigta.gov/auditor-02"], AGENCY, ssr_approved=True).note)
    done = stage("file")
    req = bulk_request(ice, exception="6103(i)(2)", agency=AGENCY, statute="8 USC 1253(a)(1)",
                       purpose="criminal_investigation", purpose_text="Failure to depart (fictional)",
                       fields=["name", "address"], recipients=[dc.Recipient("Fictional ERO Agent", AGENCY)],
                       lines=lines, case_ids=["FICT-2025-BULK"])
    submit_bulk(service.submit_batch, req, progress=(lambda m: progress("file", m)) if progress else None)
    story.request_id = req.statement_id
    del lines
    done()
    service.submit(dc.recipient_attestation(keys["ice.dhs.gov/ero-agent-0"], req.statement_id, 0).note)

    done = stage("match")
    manifest = parse_statement(req.manifest.note)
    state = engine.state
    matcher = MatcherPrincipal(keys["irs.gov/matcher"], master)
    match = matcher.match_bulk(manifest, statement_items(service.ledger, manifest, state.parts),
                               lambda wanted: service.openings(wanted))
    submit_bulk(service.submit_batch, match, progress=(lambda m: progress("match", m)) if progress else None)
    story.match_id = match.statement_id
    done()

    done = stage("review")
    match_manifest = parse_statement(match.manifest.note)
    sheet = io.StringIO()
    write_sheet(statement_items(service.ledger, match_manifest, state.parts), manifest.envelope["body"], sheet)
    story.sheet_csv = sheet.getvalue()
    decisions = read_decisions(io.StringIO(story.sheet_csv), n)
    flags = server_red_flags(state.requests[req.statement_id])
    review = review_from_decisions(keys["irs.gov/disclosure/officer-0042"], req.statement_id, decisions, flags)
    if isinstance(review, dc.Submission):
        service.submit(review.note)
    else:
        submit_bulk(service.submit_batch, review, progress=(lambda m: progress("review", m)) if progress else None)
    story.review_id = review.statement_id
    done()

    done = stage("release")
    approved = [k for k, d, _ in decisions if d == "approve"]
    cut = int(len(approved) * release_share)
    releaser = keys["irs.gov/disclosure/release-0007"]
    for part, label in ((approved[:cut], "first"), (approved[cut:], "second")):
        if not part:
            continue
        rel = bulk_release(releaser, req.statement_id, review.statement_id, part, ["name", "address"], [0],
                           f"{label} delivered file (fictional)".encode())
        submit_bulk(service.submit_batch, rel)
        story.release_ids.append(rel.statement_id)
    done()
    # the count first reported was wrong by 200, as in 2026 (47,289 vs 47,489): a signed correction
    released = len(approved)
    fix = dc.correction(releaser, story.release_ids[0] if story.release_ids else review.statement_id,
                        "reported_line_count", max(released - 200, 0), released, "count reported before reconciliation")
    service.submit(fix.note, fix.openings)
    story.correction_id = fix.statement_id
    req_facts = state.requests[req.statement_id]
    story.counts = {
        "requested": req_facts.line_count,
        "matched": sum(1 for b in req_facts.match if b & 2),
        "approved": sum(1 for d in req_facts.decisions if d == 1),
        "refused": sum(1 for d in req_facts.decisions if d == 2),
        "released": sum(req_facts.released),
        "released_now": cut,
    }
    return story


def expected_counts(kinds: list[str], release_share: float = 0.5) -> dict[str, Any]:
    """The counts a correct ledger must show, from the line kinds alone (no matcher, no log)."""
    approved = sum(1 for k in kinds if k == "exact")
    return {
        "requested": len(kinds),
        "matched": sum(1 for k in kinds if k != "unknown"),
        "approved": approved,
        "refused": len(kinds) - approved,
        "released": approved,
        "released_now": int(approved * release_share),
    }
