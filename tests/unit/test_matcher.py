"""The matcher and the synthetic master file: a field agrees only when the requester
supplied it and it equals the IRS record after normalisation; a TIN-only match never
releases an address (domain-6103 § 6b (i)(2) items 3 and 11)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from ledger.core.errors import FormatError
from ledger.domain.address import AddressVerdict, classify_address, normalise_address
from ledger.domain.masterfile import (
    FICTIONAL_SSN_AREA,
    ITIN_GROUPS,
    MasterFile,
    TaxpayerRecord,
)
from ledger.domain.matcher import (
    MATCHER_VERSION,
    MatchResult,
    TinFormatError,
    address_usable_for_release,
    match_line,
    normalise_name,
    normalise_tin,
)

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "addresses"
NOT_USABLE_FORMS = [
    text for text, _cls in json.loads((VECTORS / "not_usable.json").read_text(encoding="utf-8"))["forms"]
]

ALICE = TaxpayerRecord("912701234", "ITIN", "Maria L Altamar", "4417 N Maple Ave Apt 3B, Maple Hollow, IL 62704")
BOB = TaxpayerRecord("666120001", "SSN", "Jose Brisendo", "PO Box 77, Cedar Bluff, TX 78701")
CARLA = TaxpayerRecord("935881234", "ITIN", "Carla Duvanel", "URB Las Gladiolas, 150 Calle A, Villa Serena, PR 00926")
TWIN_1 = TaxpayerRecord("987654321", "ITIN", "Ana Calderwin", "RR 2 Box 45, Prairie Bend, KS 66001")
TWIN_2 = TaxpayerRecord("666990002", "SSN", "Ana Calderwin", "RR 2 Box 45, Prairie Bend, KS 66001")


@pytest.fixture(scope="module")
def master() -> MasterFile:
    return MasterFile([ALICE, BOB, CARLA, TWIN_1, TWIN_2])


def _line(tin: str | None = None, name: str | None = None, address: str | None = None) -> dict[str, object]:
    return {"tin": tin, "name": name, "address": address}


# --- normalisers ------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["912-70-1234", "912 70 1234", "912701234", " 912701234 ", "91-2701234"])
def test_normalise_tin_accepts_usual_layouts(text: str) -> None:
    """SSN/ITIN and EIN layouts with spaces or hyphens reduce to the 9 digits."""
    assert normalise_tin(text) == "912701234"


@pytest.mark.parametrize("text", ["", "91270123", "9127012345", "912-70-123X", "912.70.1234", "٩١٢٧٠١٢٣٤", "NA"])
def test_normalise_tin_refuses_anything_else_without_echoing_it(text: str) -> None:
    """Wrong digit counts, letters, other separators and non-ASCII digits raise a FormatError that hides the text."""
    with pytest.raises(TinFormatError) as info:
        normalise_tin(text)
    assert isinstance(info.value, FormatError) and isinstance(info.value, ValueError)
    assert not re.search(r"\d{3}", str(info.value))


def test_normalise_tin_agrees_with_the_pseudonym_normaliser() -> None:
    """The matcher and ledger.sealed normalise TINs identically (one taxpayer, one pseudonym)."""
    sealed = pytest.importorskip("ledger.sealed.pseudonyms")
    for text in ["912-70-1234", "912 70 1234", " 666120001 ", "91-2701234"]:
        assert normalise_tin(text) == sealed.normalise_tin(text)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("García, María José", "MARIA JOSE GARCIA"),
        ("Mr. Jose O'Neil", "jose oneil"),
        ("Ruiz Jr, Jose", "Jose Ruiz, Jr."),
        ("  maria   l.  altamar ", "Maria L Altamar"),
        ("Hollister-Vey, Omar", "Omar Hollister Vey"),
    ],
)
def test_normalise_name_equates_spellings(a: str, b: str) -> None:
    """Case, accents, punctuation, titles and "LAST, FIRST" order do not matter."""
    assert normalise_name(a) == normalise_name(b)


def test_normalise_name_keeps_initials_and_suffixes() -> None:
    """A middle initial or a Jr/Sr suffix makes a different name (no fuzzy agreement)."""
    assert normalise_name("Maria Altamar") != normalise_name("Maria L Altamar")
    assert normalise_name("Jose Ruiz") != normalise_name("Jose Ruiz Jr")
    assert normalise_name(None) == normalise_name("  ") == ""


# --- match_line -----------------------------------------------------------------------------


def test_tin_only_match_with_placeholder_address(master: MasterFile) -> None:
    """The 2025 case: TIN agrees, address says "Failed to Provide": basis is TIN alone, no address release."""
    result = match_line(_line("912-70-1234", None, "Failed to Provide"), master)
    assert result.matched and result.matched_tin == ALICE.tin
    assert result.match_basis == ("tin",) and result.method == "TIN"
    assert result.address_supplied and result.address_verdict.address_class == "placeholder"
    assert result.irs_address_differs is None
    assert not address_usable_for_release(result)


@pytest.mark.parametrize("address", ["NA NA", "Unknown Address", "N/A", "Don't Care 12345", "00000", None, ""])
def test_tin_and_name_with_a_non_address_never_agree_on_address(master: MasterFile, address: str | None) -> None:
    """TIN + name + placeholder/blank address: basis (name, tin), method TIN+NAME, not releasable."""
    result = match_line(_line(ALICE.tin, "ALTAMAR, MARIA L", address), master)
    assert result.match_basis == ("name", "tin") and result.method == "TIN+NAME"
    assert result.address_supplied == bool(address)
    assert not address_usable_for_release(result)


@pytest.mark.parametrize("address", NOT_USABLE_FORMS)
def test_no_unusable_address_ever_enters_the_basis(master: MasterFile, address: str) -> None:
    """For every not-usable vector, a TIN match never lists "address" and never releases one."""
    result = match_line(_line(BOB.tin, BOB.name, address), master)
    assert "address" not in result.match_basis
    assert not address_usable_for_release(result)


def test_name_and_address_match_without_tin(master: MasterFile) -> None:
    """No TIN: the requester's own name and usable address find the taxpayer; releasable."""
    spelled = "4417 North Maple Avenue, Apt 3B\nMaple Hollow, Illinois 62704"
    result = match_line(_line(None, "maria l. altamar", spelled), master)
    assert result.matched and result.matched_tin == ALICE.tin
    assert result.match_basis == ("address", "name") and result.method == "NAME+ADDRESS"
    assert result.irs_address_differs is False and not result.tin_conflict
    assert address_usable_for_release(result)


@pytest.mark.parametrize("kind_record", [BOB, CARLA])
def test_po_box_and_urbanization_addresses_match_on_name_and_address(
    master: MasterFile, kind_record: TaxpayerRecord
) -> None:
    """PO box and Puerto Rico URB addresses are real addresses for matching too."""
    result = match_line(_line(None, kind_record.name, kind_record.address.upper()), master)
    assert result.match_basis == ("address", "name") and address_usable_for_release(result)


def test_all_three_agree(master: MasterFile) -> None:
    """TIN, name and address all agree: TIN+NAME+ADDRESS, releasable."""
    result = match_line(_line(CARLA.tin, CARLA.name, CARLA.address), master)
    assert result.match_basis == ("address", "name", "tin") and result.method == "TIN+NAME+ADDRESS"
    assert address_usable_for_release(result)


def test_mismatched_tin_with_matching_name_and_address(master: MasterFile) -> None:
    """A TIN of another taxpayer: name + address decide, the TIN does not agree, the conflict is flagged."""
    result = match_line(_line(BOB.tin, ALICE.name, ALICE.address), master)
    assert result.matched and result.matched_tin == ALICE.tin
    assert result.match_basis == ("address", "name") and result.tin_conflict
    assert address_usable_for_release(result)


def test_unknown_tin_with_matching_name_and_address(master: MasterFile) -> None:
    """A well-formed TIN the IRS does not hold does not block a name + address match, nor agree."""
    result = match_line(_line("900-70-0000", ALICE.name, ALICE.address), master)
    assert result.match_basis == ("address", "name") and not result.tin_conflict


def test_tin_match_with_a_different_usable_address(master: MasterFile) -> None:
    """The requester's address differs from the IRS record: flagged, not in the basis, not releasable."""
    result = match_line(_line(ALICE.tin, ALICE.name, "1 Other Rd, Maple Hollow, IL 62704"), master)
    assert result.match_basis == ("name", "tin")
    assert result.address_verdict.usable and result.irs_address_differs is True
    assert not address_usable_for_release(result)


def test_name_differing_by_a_middle_initial_does_not_agree(master: MasterFile) -> None:
    """"Maria Altamar" is not "Maria L Altamar": with no TIN there is no match at all."""
    result = match_line(_line(None, "Maria Altamar", ALICE.address), master)
    assert not result.matched and result.match_basis == () and result.method == "NONE"
    assert result.matched_tin is None and result.irs_address_differs is None


def test_ambiguous_name_and_address_needs_the_tin(master: MasterFile) -> None:
    """Two taxpayers share name and address: no match without a TIN; the TIN picks one."""
    assert not match_line(_line(None, TWIN_1.name, TWIN_1.address), master).matched
    result = match_line(_line(TWIN_2.tin, TWIN_1.name, TWIN_1.address), master)
    assert result.matched_tin == TWIN_2.tin and result.match_basis == ("address", "name", "tin")


def test_ambiguous_name_and_address_with_a_foreign_tin_is_no_match(master: MasterFile) -> None:
    """Name + address find two records and the TIN a third: nothing is matched, the conflict is flagged."""
    result = match_line(_line(ALICE.tin, TWIN_1.name, TWIN_1.address), master)
    assert not result.matched and result.tin_conflict and result.matched_tin is None


@pytest.mark.parametrize(
    "line",
    [{}, _line(), _line("not a tin", "Nobody", "Failed to Provide"), {"tin": 912701234, "name": 5, "address": 7}],
)
def test_empty_malformed_or_non_text_lines_match_nothing(master: MasterFile, line: dict[str, object]) -> None:
    """Missing, malformed or non-string fields never agree and never raise."""
    result = match_line(line, master)
    assert (result.matched, result.match_basis, result.method, result.matched_tin) == (False, (), "NONE", None)


def test_name_only_or_address_only_is_not_a_match(master: MasterFile) -> None:
    """Without a TIN, a name alone or an address alone identifies nobody."""
    assert not match_line(_line(None, ALICE.name, None), master).matched
    assert not match_line(_line(None, None, ALICE.address), master).matched


def test_result_is_frozen_versioned_and_hides_the_tin(master: MasterFile) -> None:
    """MatchResult is immutable, names the matcher version and keeps the TIN out of its repr."""
    result = match_line(_line(ALICE.tin, None, "NA NA"), master)
    assert result.matcher_version == MATCHER_VERSION == "match-2026.1"
    assert ALICE.tin not in repr(result) and "912" not in repr(result)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.matched = False  # type: ignore[misc]


def test_address_release_rule_truth_table() -> None:
    """Only a usable, supplied address matched on name AND address may be released."""
    usable = classify_address("PO Box 77, Cedar Bluff, TX 78701")
    placeholder = classify_address("NA NA")

    def result(basis: tuple[str, ...], verdict: AddressVerdict = usable, supplied: bool = True) -> MatchResult:
        return MatchResult(bool(basis), "666120001" if basis else None, basis, "X", verdict, supplied, None)

    assert address_usable_for_release(result(("address", "name")))
    assert address_usable_for_release(result(("address", "name", "tin")))
    assert not address_usable_for_release(result(("tin",)))
    assert not address_usable_for_release(result(("name", "tin")))
    assert not address_usable_for_release(result(("address", "tin")))
    assert not address_usable_for_release(result(("address", "name"), placeholder))
    assert not address_usable_for_release(result(("address", "name"), supplied=False))
    assert not address_usable_for_release(result(()))


# --- the synthetic master file -----------------------------------------------------------


def test_master_file_is_deterministic_for_a_seed() -> None:
    """The same (n, seed) gives byte-identical files; another seed gives another file."""
    a, b = MasterFile.generate(300, 2025), MasterFile.generate(300, 2025)
    assert a.to_jsonl() == b.to_jsonl()
    assert MasterFile.generate(300, 2026).to_jsonl() != a.to_jsonl()
    assert MasterFile.generate(50, 2025).records == a.records[:50]


def test_master_file_tins_are_unique_and_follow_the_fictional_scheme() -> None:
    """ITINs: 9xx with group 50-65/70-88/90-92/94-99; SSNs: area 666 (never issued)."""
    master = MasterFile.generate(2000, 7)
    tins = [r.tin for r in master]
    assert len(master) == 2000 and len(set(tins)) == 2000
    for r in master:
        assert re.fullmatch(r"\d{9}", r.tin)
        if r.tin_type == "ITIN":
            assert r.tin[0] == "9" and int(r.tin[3:5]) in ITIN_GROUPS
        else:
            assert r.tin_type == "SSN" and r.tin[:3] == FICTIONAL_SSN_AREA
            assert r.tin[3:5] != "00" and r.tin[5:] != "0000"
    assert {r.tin_type for r in master} == {"ITIN", "SSN"}
    assert not {89, 93} & set(ITIN_GROUPS)


def test_master_file_addresses_are_usable_and_of_every_kind() -> None:
    """Every generated address passes the address rules; all five usable kinds occur."""
    master = MasterFile.generate(1500, 11)
    classes = {classify_address(r.address).address_class for r in master}
    assert all(classify_address(r.address).usable for r in master)
    assert classes == {"street", "po_box", "rural_route", "military", "pr_urbanization"}
    assert all(r.dob is not None and re.fullmatch(r"\d{4}-\d{2}-\d{2}", r.dob) for r in master)


def test_master_file_lookups(master: MasterFile) -> None:
    """By TIN in any layout, by (name, address) in any spelling; malformed TINs find nothing."""
    assert master.by_tin("912-70-1234") is ALICE
    assert master.by_tin("bogus") is None and master.by_tin(None) is None
    assert master.by_name_address("ALTAMAR, MARIA L", ALICE.address.upper()) == (ALICE,)
    assert master.by_name_address(TWIN_1.name, TWIN_1.address) == (TWIN_1, TWIN_2)
    assert master.by_name_address(ALICE.name, "Failed to Provide") == ()
    assert master.identity_keys(BOB) == (normalise_name(BOB.name), normalise_address(BOB.address))


def test_generated_file_matches_its_own_records() -> None:
    """Each generated record is found by its own TIN, name and address, households included."""
    master = MasterFile.generate(400, 3)
    for record in master:
        result = match_line({"tin": record.tin, "name": record.name, "address": record.address}, master)
        assert result.matched_tin == record.tin and result.match_basis == ("address", "name", "tin")


def test_master_file_round_trips_through_json_lines() -> None:
    """to_jsonl / from_jsonl give back the same records."""
    master = MasterFile.generate(120, 5)
    again = MasterFile.from_jsonl(master.to_jsonl())
    assert again.records == master.records and again.to_jsonl() == master.to_jsonl()


def test_master_file_refuses_duplicate_tins_and_bad_types() -> None:
    """Two records with one TIN, or an unknown TIN type, are refused."""
    with pytest.raises(FormatError):
        MasterFile([ALICE, dataclasses.replace(BOB, tin="912-70-1234")])
    with pytest.raises(FormatError):
        MasterFile([dataclasses.replace(ALICE, tin_type="EIN")])


def test_record_repr_hides_identity() -> None:
    """A record's repr shows neither TIN, name nor address."""
    text = repr(ALICE)
    assert ALICE.tin not in text and "Altamar" not in text and "Maple" not in text
