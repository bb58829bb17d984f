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

import dataclasses
import random
import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.forked import submit_bulk_forked
from demo.principals import register_all
from ledger.authoring import disclosure as dc
from ledger.core.keys import SignerKey
from ledger.core.statement import parse_statement
from ledger.domain.bulk import (
    BulkSubmission,
    bulk_release,
    bulk_request,
    bulk_review,
    opened_chunk_lines,
    statement_items,
    submit_bulk,
)
from ledger.domain.masterfile import MasterFile
from ledger.domain.matching import MatcherPrincipal
from ledger.domain.officer import read_decisions, review_from_decisions, write_sheet
from ledger.domain.schemas import MAX_LINES as INLINE_REVIEW_LINES
from ledger.domain.service import DisclosureService
from ledger.rules.engine import RuleEngine, server_red_flags
from ledger.salts import SaltSeed
from ledger.sealed import SealedStore
from ledger.store.ledger import Ledger

AGENCY = "DHS/ICE"
KINDS = ("exact", "placeholder", "tin_only", "moved", "unknown")
DEFAULT_MIX = {"exact": 0.05, "placeholder": 0.55, "tin_only": 0.2, "moved": 0.05, "unknown": 0.15}
MATCH_WORKERS = 2  # forked: the matcher's processes (this machine has two cores)
ROOT_WORKERS = 2  # forked: processes computing a bulk manifest's root before anything can be sent
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
    child_cpu_seconds: dict[str, float] = field(default_factory=dict)  # the principals' processes (``forked``)
    waited_seconds: dict[str, float] = field(default_factory=dict)  # ``forked``: the service idle, waiting for them
    sheet_path: Path | None = None  # the officer's review sheet (CSV), as written and read back


def register(service: DisclosureService, admin: SignerKey) -> dict[str, SignerKey]:
    """The story's principals (the recipient countersigned by the acting director, of its agency)."""
    return register_all(service.ledger.append, admin, PRINCIPALS, SignerKey.generate)


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


def run(service: DisclosureService, keys: dict[str, SignerKey], master: MasterFile, n: int, sheet_dir: Path,
        seed: int = 2025, release_share: float = 0.5, mix: dict[str, float] | None = None,
        progress: Callable[[str, int], None] | None = None, forked: bool = False) -> BulkStory:
    """File a request of ``n`` lines under (i)(2), match it, review it from a CSV sheet, release
    ``release_share`` of the approved lines (the rest later, in a second release), correct a count.

    ``forked``: the requester, the matcher and the officer each build and sign their bulk
    statements in a process of their own while this one (the service) appends them
    (``bench.forked``) — as on separate machines, on two cores of one."""
    story = BulkStory()
    engine = service.ledger.rules
    assert isinstance(engine, RuleEngine), "the bulk story needs the ledger's rules engine"
    ice = keys["ice.dhs.gov/acting-director"]
    lines, story.kinds = make_lines(master, n, seed, mix)

    def stage(name: str) -> Callable[[], None]:
        start, cpu, child = time.perf_counter(), time.process_time(), _children_cpu()

        def done() -> None:
            story.seconds[name] = time.perf_counter() - start
            story.cpu_seconds[name] = time.process_time() - cpu
            story.child_cpu_seconds[name] = _children_cpu() - child
        return done

    service.submit(dc.safeguard_status(keys["tigta.gov/auditor-02"], AGENCY, ssr_approved=True).note)

    def submit(build: Callable[[], BulkSubmission], name: str, seed: SaltSeed | None = None) -> tuple[str, str]:
        """Build, sign and append one bulk statement; its id and manifest note. ``seed``: the salt seed
        its build uses (read here, before the service's checking process is forked)."""
        shown = (lambda m: progress(name, m)) if progress else None
        if forked:
            out = submit_bulk_forked(service.submit_batch, build, progress=shown,
                                     stages=service.stages([seed.statement_id] if seed else []))
            story.waited_seconds[name] = story.waited_seconds.get(name, 0.0) + out.waited_seconds
            return out.statement_id, out.manifest_note
        bulk = build()
        submit_bulk(service.submit_batch, bulk, progress=shown)
        return bulk.statement_id, bulk.manifest.note

    done = stage("file")
    request_seed = service.issue_seed(ice.name, "request")  # the requester asks the ledger (FORMAT § 13.1)
    story.request_id, request_note = submit(lambda: bulk_request(
        ice, exception="6103(i)(2)", agency=AGENCY, statute="8 USC 1253(a)(1)",
        purpose="criminal_investigation", purpose_text="Failure to depart (fictional)",
        fields=["name", "address"],
        recipients=[dc.Recipient("Fictional ERO Agent", AGENCY, principal="ice.dhs.gov/ero-agent-0")],
        lines=lines, case_ids=["FICT-2025-BULK"], workers=ROOT_WORKERS if forked else 1, seed=request_seed),
        "file", request_seed)
    lines = []  # (the build above has run: the log and the sealed store hold them now)
    done()
    service.submit(dc.recipient_attestation(keys["ice.dhs.gov/ero-agent-0"], story.request_id, 0).note)

    done = stage("match")
    manifest = parse_statement(request_note)
    state = engine.state
    matcher = MatcherPrincipal(keys["irs.gov/matcher"], master)
    match_seed = service.issue_seed(matcher.key.name, "match_result")

    def match() -> BulkSubmission:
        if not forked:
            return matcher.match_bulk(manifest, *opened_chunk_lines(service.ledger, state.parts.get(manifest.id, []),
                                                                    service.sealed), seed=match_seed)
        # The matcher's own processes, one per core, each with its own connections to the log and
        # the sealed store, each matching a range of the request's chunks.
        # (readers only: no DDL, which two processes at once would race on PostgreSQL's catalog)
        settings = dataclasses.replace(service.ledger.settings, create_tables=False)
        chunk_indices = state.parts.get(manifest.id, [])

        def open_range(first: int, stop: int) -> tuple[Iterator[Any], Callable[[list[str]], Any]]:
            reader, sealed = Ledger(settings), SealedStore(settings.db_url, service.keys, create_tables=False)
            return opened_chunk_lines(reader, chunk_indices[first:stop], sealed)

        return matcher.match_bulk_split(manifest, open_range, workers=MATCH_WORKERS, seed=match_seed)

    story.match_id, match_note = submit(match, "match", match_seed)
    done()

    done = stage("review")
    match_manifest = parse_statement(match_note)
    story.sheet_path = sheet_dir / f"review-sheet-{story.request_id}.csv"
    with story.sheet_path.open("w", encoding="utf-8", newline="") as sheet:
        write_sheet(statement_items(service.ledger, match_manifest, state.parts), manifest.envelope["body"], sheet)
    with story.sheet_path.open(encoding="utf-8", newline="") as sheet:
        decisions = read_decisions(sheet, n)
    flags = server_red_flags(state.requests[story.request_id])
    officer = keys["irs.gov/disclosure/officer-0042"]
    if len(decisions) <= INLINE_REVIEW_LINES:
        review = review_from_decisions(officer, story.request_id, decisions, flags)
        assert isinstance(review, dc.Submission)
        service.submit(review.note)
        story.review_id = review.statement_id
    else:
        story.review_id, _ = submit(lambda: bulk_review(officer, story.request_id, decisions, flags,
                                                        workers=ROOT_WORKERS if forked else 1), "review")
    done()

    done = stage("release")
    approved = [k for k, d, _ in decisions if d == "approve"]
    cut = int(len(approved) * release_share)
    releaser = keys["irs.gov/disclosure/release-0007"]
    for part, label in ((approved[:cut], "first"), (approved[cut:], "second")):
        if not part:
            continue
        rel = bulk_release(releaser, story.request_id, story.review_id, part, ["name", "address"], [0],
                           f"{label} delivered file (fictional)".encode())
        submit_bulk(service.submit_batch, rel)
        story.release_ids.append(rel.statement_id)
    done()
    # the count first reported was wrong by 200, as in 2026 (47,289 vs 47,489): a signed correction
    released = len(approved)
    fix = dc.correction(releaser, story.release_ids[0] if story.release_ids else story.review_id,
                        "reported_line_count", max(released - 200, 0), released, "count reported before reconciliation",
                        seed=service.issue_seed(releaser.name, "correction"))
    service.submit(fix.note, fix.openings)
    story.correction_id = fix.statement_id
    req_facts = state.requests[story.request_id]
    story.counts = {
        "requested": req_facts.line_count,
        "matched": sum(1 for b in req_facts.match if b & 2),
        "approved": sum(1 for d in req_facts.decisions if d == 1),
        "refused": sum(1 for d in req_facts.decisions if d == 2),
        "released": sum(req_facts.released),
        "released_now": cut,
    }
    return story


def _children_cpu() -> float:
    """CPU seconds of this process's finished (joined) children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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
