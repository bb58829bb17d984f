"""The accounting from before the ledger (legacy_release): its bounds on SQLite and PostgreSQL.

An import is signed by an importer and countersigned by an oversight principal, dated before the
policy's legacy_cutover (set in a policy statement, by two administrators), carries the audit's
facts as commitments with sealed openings, and nothing may refer to it afterwards."""

from __future__ import annotations

import json

import pytest
from domainfix import AGENCY, CRIMINAL, Domain, open_domain

from ledger.authoring import disclosure as dc
from ledger.domain.accounting import AccountingError, cutover_policy, legacy_release, read_accounting
from ledger.domain.refusals import RuleRefusal
from ledger.domain.service import DisclosureService
from ledger.policy import DEFAULT_POLICY
from ledger.sealed import SealedKeys, SealedStore

CUTOVER = "2026-01-01"


def record(day: str = "2025-08-07", n: int = 3) -> list[str]:
    rows = []
    for k in range(n):
        rows.append(json.dumps({
            "source": "irs-2025-accounting", "disclosed_on": day, "agency": AGENCY, "exception": "6103(i)(2)",
            "purpose": "criminal_investigation", "fields": ["name", "address"], "tin": f"900-70-{k:04d}",
            "name": f"Fictional Person {k}", "address": "Failed to Provide" if k else "12 Main St, Boston, MA 02110",
            "match_basis": ["tin"] if k else ["address", "name", "tin"], "matched_tin": f"900-70-{k:04d}"}))
    return rows


class World:
    def __init__(self, d: Domain, service: DisclosureService) -> None:
        self.d, self.service = d, service
        self.admin2 = d.principal("ledger.test.example/admin-2", ["administrator"])
        self.importer = d.principal("irs.gov/accounting/importer", ["importer"], agency="IRS")
        self.auditor = d.principal("tigta.gov/auditor-legacy", ["oversight"], agency="TIGTA")

    def set_cutover(self, cutover: str = CUTOVER, admins: int = 2) -> None:
        signers = [self.d.admin, self.admin2][:admins]
        self.d.ledger.append(cutover_policy(signers, DEFAULT_POLICY, cutover))

    def imported(self, day: str = "2025-08-07", countersign: bool = True) -> dc.Submission:
        (disclosure,) = read_accounting(record(day))
        signers = [self.importer, self.auditor] if countersign else [self.importer]
        sub = legacy_release(signers, disclosure, self.service.issue_seed(self.importer.name, "legacy_release"))
        self.service.submit(sub.note, sub.openings)
        return sub


@pytest.fixture
def world(settings):
    d = open_domain(settings)
    keys = SealedKeys.random()
    sealed = SealedStore(settings.db_url, keys)
    yield World(d, DisclosureService(d.ledger, sealed, keys))
    sealed.close()
    d.ledger.close()


def refused(fn, *args, **kwargs) -> list[str]:
    with pytest.raises(RuleRefusal) as caught:
        fn(*args, **kwargs)
    return caught.value.rules


def test_an_import_countersigned_before_the_cutover_lands_with_pseudonyms(world):
    world.set_cutover()
    sub = world.imported()
    engine = world.d.engine
    assert sub.statement_id in engine.state.imported
    # every commitment's opening is sealed; the matched TINs became pseudonyms
    assert len(world.service.openings([o.commitment for o in sub.openings])) == len(sub.openings) == 12


def test_an_import_dated_on_or_after_the_cutover_is_refused(world):
    world.set_cutover()
    assert refused(world.imported, day=CUTOVER) == ["legacy.after_cutover"]
    assert refused(world.imported, day="2026-03-02") == ["legacy.after_cutover"]


def test_no_import_without_a_cutover_in_the_policy(world):
    assert refused(world.imported) == ["legacy.after_cutover"]


def test_an_import_not_countersigned_by_oversight_is_refused(world):
    world.set_cutover()
    assert refused(world.imported, countersign=False) == ["legacy.countersign"]


def test_an_import_countersigned_by_another_importer_is_refused(world):
    world.set_cutover()
    other = world.d.principal("irs.gov/accounting/importer-2", ["importer"], agency="IRS")
    (disclosure,) = read_accounting(record())
    sub = legacy_release([world.importer, other], disclosure,
                         world.service.issue_seed(world.importer.name, "legacy_release"))
    assert refused(world.service.submit, sub.note, sub.openings) == ["legacy.countersign"]


def test_setting_the_cutover_takes_two_administrators(world):
    assert refused(world.set_cutover, admins=1) == ["policy.second_administrator"]
    world.set_cutover("2025-06-01")
    assert refused(world.set_cutover, "2026-01-01", admins=1) == ["policy.second_administrator"]
    world.d.ledger.append(cutover_policy([world.d.admin], DEFAULT_POLICY, "2025-01-01"))  # earlier: one suffices


def test_a_review_and_a_release_referring_to_an_imported_record_are_refused(world):
    world.set_cutover()
    legacy = world.imported().statement_id
    d = world.d
    reviewer = d.principal("irs.gov/reviewer-legacy", ["reviewer"], agency="IRS")
    releaser = d.principal("irs.gov/releaser-legacy", ["releaser"], agency="IRS")
    assert refused(d.submit, dc.review(reviewer, legacy, [(0, "approve", "ok")], [])) == ["legacy.final"]
    assert refused(d.submit, dc.release(releaser, legacy, legacy, [0], ["address"], [0], b"file")) \
        == ["legacy.final"]
    recipient = d.recipient_key()
    assert refused(d.submit, dc.receipt(recipient, legacy, b"file")) == ["legacy.final"]
    assert refused(d.submit, dc.erasure([d.admin, world.admin2], legacy, [world.imported(day="2025-08-08")
                                                                              .openings[0].commitment],
                                        "retention")) == ["legacy.final"]
    corrector = d.principal("irs.gov/corrections", ["operator"], agency="IRS")
    assert refused(d.submit, dc.correction(corrector, legacy, "lines", 3, 2, "miscount")) == ["legacy.final"]
    requester = d.principal("ice.example.gov/director", ["requester"], agency=AGENCY, category="agency_head")
    again = dc.request(requester, exception="6103(i)(2)", agency=AGENCY, statute=CRIMINAL,
                       purpose="criminal_investigation", purpose_text="x", fields=["address"],
                       recipients=[d.recipient("Agent")], lines=[dc.Line("900-70-0001", "A", "1 Main St")],
                       resubmits=legacy)
    assert refused(d.submit, again) == ["legacy.final"]


def test_a_bad_accounting_file_names_its_line():
    with pytest.raises(AccountingError, match="line 2: disclosed_on"):
        read_accounting([record()[0], record()[1].replace("2025-08-07", "2025-13-07")])
    with pytest.raises(AccountingError, match="line 1: not a JSON object"):
        read_accounting(["{nope"])
    with pytest.raises(AccountingError, match="matched_tin is given exactly"):
        read_accounting([record()[0].replace('"matched_tin": "900-70-0000"', '"matched_tin": null')])


def test_disclosures_split_by_head_and_at_150_lines():
    rows = record(n=1) * 151 + record(day="2025-08-08", n=1)
    out = read_accounting(rows)
    assert [len(r.lines) for r in out] == [150, 1, 1]
    assert [r.first_input_line for r in out] == [1, 151, 152]
