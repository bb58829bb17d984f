"""Salts the ledger vouches for (FORMAT § 13.1), through the disclosure service, on SQLite and PostgreSQL.

The issue's findings: a request with all-zero salts was accepted; a constant salt reused for one
TIN across requests, or a salt derived from the value, would pass checks for zero or repeated
salts. Each is refused here by the derivation check, nothing is stored, and the issued seed still
serves an honest statement with the same id.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from domainfix import AGENCY, CRIMINAL, one_line_request

from ledger.authoring import disclosure as dc
from ledger.core.commitments import Opening, commit
from ledger.core.keys import SignerKey
from ledger.core.statement import parse_statement
from ledger.core.times import utc_now
from ledger.domain.bulk import bulk_request, submit_bulk
from ledger.domain.refusals import AppendRefused, RuleRefusal
from ledger.domain.seeds import SaltSeeds, SeedRefused
from ledger.domain.service import DisclosureService
from ledger.salts import SaltSeed, open_seed_answer, seed_request
from ledger.sealed import SealedKeys, SealedStore
from ledger.sealed.seeds import SeedStore

TIN = "900-70-0001"


@dataclass(frozen=True)
class ChosenSalts(SaltSeed):
    """An issued seed's id, with salts the submitter chose instead of the derived ones."""

    chooser: Any = None

    def commit(self, field_: str, value: Any, line: int | None = None, position: int = 0) -> Opening:
        return commit(field_, value, self.chooser(field_, value, line, position))


def chosen(seed: SaltSeed, chooser: Any) -> ChosenSalts:
    return ChosenSalts(seed.statement_id, seed.statement_type, seed.principal, seed.seed, seed.expires_at, chooser)


@pytest.fixture
def svc(domain_any):
    keys = SealedKeys.random()
    sealed = SealedStore(domain_any.ledger.settings.db_url, keys)
    service = DisclosureService(domain_any.ledger, sealed, keys)
    requester = domain_any.principal("ice.dhs.gov/director", ["requester"], agency=AGENCY, category="agency_head")
    yield domain_any, service, requester
    sealed.close()


def _request(signer: SignerKey, seed: SaltSeed | None, tin: str = TIN, statute: str = CRIMINAL) -> dc.Submission:
    return dc.request(signer, exception="6103(i)(2)", agency=AGENCY, statute=statute,
                      purpose="criminal_investigation", purpose_text="fictional purpose", fields=["name", "address"],
                      recipients=[dc.Recipient("Agent A", AGENCY, True, True, 2)],
                      lines=[dc.Line(tin, "Fictional One", "1 Elm St, Boston, MA 02110", ("2024",), "open case")],
                      case_ids=["FICT-1"], seed=seed)


def _size(d: Any) -> int:
    return int(d.ledger.size())


def zero(f: str, v: Any, k: int | None, p: int) -> bytes:
    return bytes(16)


def constant(f: str, v: Any, k: int | None, p: int) -> bytes:
    return b"constant-salt-16"


def from_value(f: str, v: Any, k: int | None, p: int) -> bytes:
    return hashlib.sha256(repr(v).encode()).digest()[:16]


@pytest.mark.parametrize("chooser", [zero, constant, from_value], ids=["zero", "constant", "from-value"])
def test_chosen_salts_are_refused(svc, chooser):
    """Zero salts, a constant salt, salts computed from the value: refused (salts.derivation), nothing
    stored, and the same seed then serves the honest request with the same id."""
    d, service, requester = svc
    seed = service.issue_seed(requester.name, "request")
    before = _size(d)
    for _ in range(2):  # the constant salt reused across two requests: refused both times
        bad = _request(requester, chosen(seed, chooser))
        with pytest.raises(AppendRefused) as refused:
            service.submit(bad.note, bad.openings)
        assert refused.value.rule == "salts.derivation" and TIN not in str(refused.value)
        assert _size(d) == before and service.sealed.count() == 0
    good = _request(requester, seed)
    assert parse_statement(good.note).id == parse_statement(bad.note).id
    assert service.submit(good.note, good.openings).index == before
    service.seeds.flush()  # (used-up seeds are deleted in batches)
    assert service.seeds.store.count() == 0  # used up: the id is taken


def test_same_tin_in_two_requests_gives_unrelated_commitments(svc):
    """Two requests naming one TIN: different seeds, so different salts and commitments."""
    _, service, requester = svc
    subs = [_request(requester, service.issue_seed(requester.name, "request")) for _ in range(2)]
    for sub in subs:
        service.submit(sub.note, sub.openings)
    tins = [next(o for o in sub.openings if o.field == "tin") for sub in subs]
    assert tins[0].value == tins[1].value and tins[0].salt != tins[1].salt
    assert tins[0].commitment != tins[1].commitment
    assert commit("tin", TIN, tins[1].salt).commitment != tins[0].commitment


def test_no_seed_refused_but_an_exact_resubmission_returns_the_original(svc):
    """Random (client-chosen) salts with no seed: refused; the stored statement sent again: its entry."""
    _d, service, requester = svc
    unseeded = _request(requester, None)
    with pytest.raises(AppendRefused) as refused:
        service.submit(unseeded.note, unseeded.openings)
    assert refused.value.rule == "salts.no_seed"
    sub = _request(requester, service.issue_seed(requester.name, "request"))
    first = service.submit(sub.note, sub.openings)
    again = service.submit(sub.note, sub.openings)  # the seed is gone; the exact statement is stored
    assert again.duplicate and again.index == first.index
    forged = _request(requester, SaltSeed.local(sub.statement_id, "request", requester.name))
    with pytest.raises(AppendRefused) as refused:  # same id, other bytes: refused (the seed may await deletion)
        service.submit(forged.note, forged.openings)
    assert refused.value.rule in ("salts.no_seed", "salts.derivation")
    service.seeds.flush()
    with pytest.raises(AppendRefused) as refused:  # no seed left: refused before the log sees it
        service.submit(forged.note, forged.openings)
    assert refused.value.rule == "salts.no_seed"


def test_seed_is_bound_to_its_principal_and_type(svc):
    """A seed serves only statements its principal signs, of its type."""
    d, service, requester = svc
    other = d.principal("fbi.gov/director", ["requester"], agency=AGENCY, category="agency_head")
    seed = service.issue_seed(requester.name, "request")
    theirs = _request(other, SaltSeed(seed.statement_id, "request", other.name, seed.seed, seed.expires_at))
    with pytest.raises(AppendRefused) as refused:
        service.submit(theirs.note, theirs.openings)
    assert refused.value.rule == "salts.principal"
    court = d.principal("uscourts.gov/judge", ["court"])
    order_seed = service.issue_seed(court.name, "court_order")
    as_request = _request(requester, SaltSeed(order_seed.statement_id, "request", requester.name, order_seed.seed,
                                              order_seed.expires_at))
    with pytest.raises(AppendRefused) as refused:
        service.submit(as_request.note, as_request.openings)
    assert refused.value.rule in ("salts.principal", "salts.type")


def test_a_blocked_statement_uses_up_its_seed(svc):
    """A rule refusal is a blocked entry: the id is taken, the seed deleted; a retry is refused by id."""
    _, service, requester = svc
    seed = service.issue_seed(requester.name, "request")
    civil = _request(requester, seed, statute="8 USC 1227(a)")
    with pytest.raises(RuleRefusal):
        service.submit(civil.note, civil.openings)
    service.seeds.flush()
    assert service.seeds.store.count() == 0
    retry = _request(requester, seed)
    with pytest.raises(AppendRefused) as refused:
        service.submit(retry.note, retry.openings)
    assert refused.value.rule in ("salts.no_seed", "ledger.refused_id")


def test_expired_seed_is_refused(svc):
    d, service, requester = svc
    expired = DisclosureService(d.ledger, service.sealed, service.keys,
                                SaltSeeds(d.ledger, SeedStore(service.sealed), ttl=timedelta(seconds=-1)))
    sub = _request(requester, expired.issue_seed(requester.name, "request"))
    with pytest.raises(AppendRefused) as refused:
        expired.submit(sub.note, sub.openings)
    assert refused.value.rule == "salts.expired"


def test_seed_requests_are_checked_against_the_trust_state(svc):
    """A seed request: signed by the principal's active key, a role that may sign the type, this ledger,
    now, an unused id; asked twice, the same seed; capped per principal."""
    d, service, requester = svc
    origin = d.ledger.origin
    seeds = SaltSeeds(d.ledger, SeedStore(service.sealed), max_open=2)
    answer = seeds.answer(seed_request(requester, origin, "request", "req-1"))
    seed = open_seed_answer(requester, answer)
    assert open_seed_answer(requester, seeds.answer(seed_request(requester, origin, "request", "req-1"))) == seed
    reviewer = d.principal("irs.gov/reviewer", ["reviewer"], agency="IRS")
    cases = {
        "salts.signature": seed_request(SignerKey.generate(requester.name), origin, "request", "req-2"),
        "salts.unknown_key": seed_request(SignerKey.generate("nobody.example/x"), origin, "request", "req-3"),
        "salts.role": seed_request(reviewer, origin, "request", "req-4"),
        "salts.origin": seed_request(requester, "other.example/ledger", "request", "req-5"),
        "salts.request_time": seed_request(requester, origin, "request", "req-6", utc_now() - timedelta(hours=1)),
        "salts.id_taken": seed_request(d.principal("fbi.gov/d", ["requester"], agency=AGENCY, category="agency_head"),
                                       origin, "request", "req-1"),
        "salts.request": "not a note",
    }
    for rule, note in cases.items():
        with pytest.raises(SeedRefused) as refused:
            seeds.answer(note)
        assert refused.value.rule == rule, (rule, str(refused.value))
    seeds.answer(seed_request(requester, origin, "request", "req-7"))
    with pytest.raises(SeedRefused) as refused:
        seeds.answer(seed_request(requester, origin, "request", "req-8"))
    assert refused.value.rule == "salts.too_many"
    sub = _request(requester, seed)
    service.submit(sub.note, sub.openings)
    with pytest.raises(SeedRefused) as refused:
        seeds.answer(seed_request(requester, origin, "request", "req-1"))
    assert refused.value.rule == "salts.id_used"


def test_bulk_request_salts_derive_from_one_seed(svc):
    """The bulk path: one seed for the manifest, every chunk's salts derived from it with absolute
    line numbers; the same TIN on every line commits differently; a chunk with a chosen salt is
    refused and its batch stores nothing."""
    d, service, requester = svc
    lines = [dc.Line(TIN, "Fictional One", "1 Elm St, Boston, MA 02110", ("2024",), "r") for _ in range(300)]
    common: dict[str, Any] = dict(exception="6103(i)(2)", agency=AGENCY, statute=CRIMINAL,
                                  purpose="criminal_investigation", purpose_text="p", fields=["name", "address"],
                                  recipients=[dc.Recipient("Agent A", AGENCY)], lines=lines, case_ids=["c"])
    bulk = bulk_request(requester, seed=service.issue_seed(requester.name, "request"), **common)
    submit_bulk(service.submit_batch, bulk, batch_chunks=2)
    tins = {o.commitment for c in range(bulk.chunk_count) for o in bulk.chunk(c).openings if o.field == "tin"}
    assert len(tins) == 300
    seed = service.issue_seed(requester.name, "request")
    honest = bulk_request(requester, seed=seed, **common)

    def zero_in_chunk_one(c: int) -> tuple[list[Any], list[Opening]]:
        items, openings = honest.source(c)
        if c == 1:
            items = [dict(it) for it in items]
            first = openings[0]
            bad = commit(first.field, first.value, bytes(16))
            items[0][first.field] = bad.commitment
            openings = [bad, *openings[1:]]
        return items, openings

    tampered = type(honest)(honest.manifest, honest.signers, honest.kind, honest.line_count, zero_in_chunk_one,
                            honest.issued_at)
    before = _size(d)
    with pytest.raises(AppendRefused) as refused:
        submit_bulk(service.submit_batch, tampered, batch_chunks=1)
    assert refused.value.rule == "salts.derivation" and refused.value.statement_id == f"{seed.statement_id}.c1"
    assert _size(d) == before + 2  # the manifest and chunk 0 landed; chunk 1 stored nothing
    service.seeds.flush()
    assert service.seeds.store.count() == 1  # still open: the honest chunk 1 may follow
    submit_bulk(service.submit_batch, honest, batch_chunks=1)  # resubmits the stored two, appends the rest
    service.seeds.flush()
    assert service.seeds.store.count() == 0  # the last chunk used it up


def test_one_line_helper_still_builds_without_a_seed(svc):
    """Statements built without a seed are for a ledger without the service: the bare ledger takes them."""
    d, _, requester = svc
    assert d.ledger.append(one_line_request(requester).note).index > 0


def test_finding_zero_salt_request_is_refused(svc):
    """Finding 1 (regression): a request whose every commitment used an all-zero salt was accepted, and two
    lines with one TIN had equal commitments. Built here with nothing but the public builders' pieces."""
    from ledger.authoring.trust import signed

    d, service, requester = svc
    zero: list[Opening] = []

    def c(field_: str, value: Any) -> str:
        zero.append(commit(field_, value, bytes(16)))
        return zero[-1].commitment

    body = dc.request_head(c, exception="6103(i)(2)", agency=AGENCY, statute=CRIMINAL,
                           purpose="criminal_investigation", purpose_text="p", fields=["name", "address"],
                           recipients=[dc.Recipient("Agent A", AGENCY, True, True, 2)], case_ids=["FICT-1"])
    body["lines"] = [{"tin": c("tin", TIN), "name": c("name", f"Person {k}"), "address": c("address", "1 Elm St"),
                      "periods": ["2024"], "reason": c("reason", f"case {k}")} for k in range(2)]
    assert body["lines"][0]["tin"] == body["lines"][1]["tin"]  # what the zero salt gives away
    before = _size(d)
    with pytest.raises(AppendRefused) as refused:
        service.submit(signed([requester], "request", body), zero)
    assert refused.value.rule.startswith("salts.")
    assert _size(d) == before
