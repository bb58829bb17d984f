"""ledger.core.witnessed: a checkpoint checked against a pinned witness policy (what --policy requires)."""

from __future__ import annotations

import pytest

from ledger.core.checkpoint import Checkpoint, sign_checkpoint
from ledger.core.cosignature import CosignerSigner
from ledger.core.errors import PolicyError, QuorumError, SignatureError
from ledger.core.keys import SignerKey
from ledger.core.tlog_policy import parse_policy
from ledger.core.witness_protocol import with_lines
from ledger.core.witnessed import check_witness_policy, open_witnessed

ORIGIN = "ledger.example.gov/disclosures"
LOG = SignerKey(ORIGIN, bytes([1]) * 32)
TIGTA, GAO, CLERK = (CosignerSigner(n, bytes([i]) * 32) for i, n in
                     ((2, "witness.tigta.example/w1"), (3, "witness.gao.example/w1"), (4, "clerk.uscourts.example/w1")))
STRANGER = CosignerSigner("witness.irs.example/w1", bytes([9]) * 32)
POLICY = parse_policy(f"log {LOG.verifier}\nwitness tigta {TIGTA.verifier}\nwitness gao {GAO.verifier}\n"
                      f"witness clerk {CLERK.verifier}\ngroup two 2 tigta gao clerk\nquorum two\n")
CHECKPOINT = sign_checkpoint(Checkpoint(ORIGIN, 42, bytes(range(32))), [LOG]).encode()


def cosigned(*signers: CosignerSigner, note: str = CHECKPOINT) -> str:
    text = note.split("\n\n")[0] + "\n"
    return with_lines(note, [s.cosign(text, 1_780_000_000 + i) for i, s in enumerate(signers)])


def test_quorum_met_names_who_signed_and_when() -> None:
    """Two of three pinned witnesses: accepted, each named with its time."""
    w = check_witness_policy(cosigned(TIGTA, CLERK), LOG.verifier, POLICY)
    assert [c.witness.name for c in w.cosigned] == ["tigta", "clerk"]
    assert w.cosigned[0].when() == "2026-05-28T20:26:40Z"
    assert "tigta (witness.tigta.example/w1) at 2026-05-28T20:26:40Z" in w.summary()


def test_below_quorum_is_refused_naming_the_one_that_signed() -> None:
    """One of three is below 2 of 3: QuorumError naming the witness that did cosign."""
    with pytest.raises(QuorumError, match=r"does not meet .* cosigned by gao"):
        check_witness_policy(cosigned(GAO), LOG.verifier, POLICY)


def test_unwitnessed_checkpoint_is_refused() -> None:
    """The log's signature alone does not meet a quorum of two."""
    with pytest.raises(QuorumError, match="no witness of the policy"):
        check_witness_policy(CHECKPOINT, LOG.verifier, POLICY)


def test_cosigned_by_unknown_witnesses_only_is_refused() -> None:
    """Valid cosignatures by witnesses the policy does not name count for nothing, and are named."""
    with pytest.raises(QuorumError, match=r"only by keys the policy does not name.*witness\.irs\.example/w1"):
        check_witness_policy(cosigned(STRANGER), LOG.verifier, POLICY)


def test_shipped_policy_naming_other_witnesses_is_refused() -> None:
    """A policy shipped with the evidence that names a witness the pinned one does not is refused,
    even when the pinned quorum is met."""
    shipped = parse_policy(f"witness tigta {TIGTA.verifier}\nwitness irs {STRANGER.verifier}\n"
                           "group g any tigta irs\nquorum g\n")
    with pytest.raises(PolicyError, match="names witnesses the pinned policy does not: irs"):
        check_witness_policy(cosigned(TIGTA, GAO, STRANGER), LOG.verifier, POLICY, shipped)
    same = parse_policy(f"witness t {TIGTA.verifier}\nquorum t\n")
    check_witness_policy(cosigned(TIGTA, GAO), LOG.verifier, POLICY, same)


def test_bad_cosignature_by_a_pinned_witness_refuses_the_checkpoint() -> None:
    """A line with a pinned witness's name and key ID that does not verify refuses the whole checkpoint."""
    note = cosigned(TIGTA, GAO)
    text = note.split("\n\n")[0] + "\n"
    forged = GAO.cosign(text.replace("\n42\n", "\n43\n"), 5)
    with pytest.raises(SignatureError, match="does not verify"):
        check_witness_policy(with_lines(cosigned(TIGTA), [forged]), LOG.verifier, POLICY)


def test_two_cosignatures_by_one_witness_are_refused() -> None:
    """A witness counts once; two lines of its key are refused."""
    text = CHECKPOINT.split("\n\n")[0] + "\n"
    note = with_lines(CHECKPOINT, [TIGTA.cosign(text, 1), TIGTA.cosign(text, 2)])
    with pytest.raises(SignatureError, match="more than one cosignature"):
        open_witnessed(note, [LOG.verifier], POLICY)


def test_trust_root_must_be_a_log_of_the_policy() -> None:
    """A policy listing other logs does not vouch for this one."""
    other = SignerKey(ORIGIN, bytes([8]) * 32)
    with pytest.raises(PolicyError, match="do not include the trust root"):
        check_witness_policy(sign_checkpoint(Checkpoint(ORIGIN, 1, bytes(32)), [other]).encode(), other.verifier,
                             POLICY)


def test_cosignature_of_another_checkpoint_does_not_count() -> None:
    """A cosignature over another tree size, moved onto this checkpoint, fails to verify."""
    other = sign_checkpoint(Checkpoint(ORIGIN, 41, bytes(range(32))), [LOG]).encode()
    line = cosigned(TIGTA, note=other).split("\n")[-2]
    moved = CHECKPOINT + line + "\n"
    with pytest.raises(SignatureError):
        check_witness_policy(moved, LOG.verifier, POLICY)


def test_format_section_18_example_policy_is_met_by_its_example_checkpoint() -> None:
    """docs/FORMAT.md § 18.2's example policy parses, and § 18.1's cosigned checkpoint (cosignature-v1.json)
    meets it under the log key."""
    import json
    import re
    from pathlib import Path

    from ledger.core.keys import parse_vkey

    root = Path(__file__).resolve().parents[2]
    doc = (root / "docs" / "FORMAT.md").read_text("utf-8")
    section = doc[doc.index("### 18.2"):doc.index("### 18.3")]
    policy = parse_policy(re.search(r"```\n(# three bodies.*?)```", section, re.S).group(1))  # type: ignore[union-attr]
    vector = json.loads((root / "tests" / "vectors" / "cosignature-v1.json").read_text("utf-8"))["vectors"][1]
    assert vector["cosigned_note"] in doc
    witnessed = check_witness_policy(vector["cosigned_note"], parse_vkey(vector["log_vkey"]), policy)
    assert len(witnessed.cosigned) == 3
