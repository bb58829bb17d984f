"""verify_ledger.py --policy: the checkpoint must meet a witness policy the court pinned
(c2sp.org/tlog-policy), naming which witnesses cosigned and when; a checkpoint below quorum, one
cosigned only by witnesses the policy does not name, and a bundle whose shipped policy names
witnesses the court's does not are refused (exit 1); a malformed pinned policy is a usage error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from verifier_helpers import VECTORS, run, run_json, vector_args

from ledger.core.cosignature import CosignerSigner
from ledger.core.note import parse_note
from ledger.core.witness_protocol import with_lines

HAPPY = VECTORS / "happy-path"
TIGTA, GAO, CLERK = (CosignerSigner(n, bytes([i]) * 32) for i, n in
                     ((2, "witness.tigta.example/w1"), (3, "witness.gao.example/w1"), (4, "clerk.uscourts.example/w1")))
STRANGER = CosignerSigner("witness.irs.example/w1", bytes([9]) * 32)


def policy_text(vkey: str) -> str:
    return (f"# the court's pinned policy\nlog {vkey}\nwitness tigta {TIGTA.verifier}\nwitness gao {GAO.verifier}\n"
            f"witness clerk {CLERK.verifier}\ngroup oversight 2 tigta gao clerk\nquorum oversight\n")


def cosign(note: str, *signers: CosignerSigner) -> str:
    text = parse_note(note).text
    return with_lines(note, [s.cosign(text, 1_780_000_000 + 60 * i) for i, s in enumerate(signers)])


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    out = tmp_path / "v"
    shutil.copytree(HAPPY, out)
    (out / "court.policy").write_text(policy_text((out / "vkey.txt").read_text().strip()))
    return out


def with_checkpoint(folder: Path, *signers: CosignerSigner) -> list[str]:
    checkpoint = (folder / "checkpoint.txt").read_text()
    (folder / "checkpoint.txt").write_text(cosign(checkpoint, *signers))
    return [*vector_args(folder), "--policy", str(folder / "court.policy")]


def test_quorum_met_passes_and_names_the_witnesses(folder: Path) -> None:
    """Two of three pinned witnesses cosigned: exit 0, the report names them and the times."""
    code, report = run_json(with_checkpoint(folder, TIGTA, CLERK))
    assert code == 0, report
    detail = dict((c["check"], c["detail"]) for c in report["checks"])["witnesses"]
    assert "tigta (witness.tigta.example/w1) at 2026-05-28T20:26:40Z" in detail
    assert "clerk (clerk.uscourts.example/w1) at 2026-05-28T20:27:40Z" in detail
    assert "oversight = 2 of 3" in detail


def test_below_quorum_is_refused(folder: Path) -> None:
    """One of three: exit 1, below quorum, naming who did cosign."""
    code, report = run_json(with_checkpoint(folder, GAO))
    assert code == 1
    assert "does not meet the policy's quorum" in report["reason"] and "cosigned by gao" in report["reason"]


def test_unwitnessed_checkpoint_is_refused(folder: Path) -> None:
    """The log's signature alone does not meet the court's quorum."""
    code, report = run_json(with_checkpoint(folder))
    assert code == 1 and "no witness of the policy" in report["reason"]


def test_cosigned_by_unknown_witnesses_only_is_refused(folder: Path) -> None:
    """Cosignatures by a witness the court did not pin count for nothing: exit 1, the key named."""
    code, report = run_json(with_checkpoint(folder, STRANGER))
    assert code == 1
    assert "only by keys the policy does not name" in report["reason"]
    assert "witness.irs.example/w1" in report["reason"]


def test_forged_cosignature_by_a_pinned_witness_fails(folder: Path) -> None:
    """A pinned witness's line over another checkpoint fails the whole checkpoint."""
    args = with_checkpoint(folder, TIGTA)
    cp = (folder / "checkpoint.txt").read_text()
    other = CLERK.cosign(parse_note(cp).text.replace("\n", "\n\n", 1), 7)  # signed over other bytes
    (folder / "checkpoint.txt").write_text(with_lines(cp, [other]))
    code, report = run_json(args)
    assert code == 1 and "does not verify" in report["reason"]


def test_malformed_pinned_policy_is_a_usage_error(folder: Path) -> None:
    """A policy the court's expert mistyped is exit 2 with the line named, before the export is read."""
    args = with_checkpoint(folder, TIGTA, GAO)
    (folder / "court.policy").write_text("quorum nobody\n")
    code, _out, err = run(args)
    assert code == 2 and "policy line 1" in err


def test_policy_naming_another_log_is_refused(folder: Path) -> None:
    """A policy whose log lines do not include the trust root does not vouch for this log."""
    args = with_checkpoint(folder, TIGTA, GAO)
    other = CosignerSigner("x", bytes(32))  # any Ed25519 key will do as another log's
    from ledger.core.keys import SignerKey

    log = SignerKey("other.example/log", other.seed).verifier
    (folder / "court.policy").write_text(policy_text(str(log)))
    code, report = run_json(args)
    assert code == 1 and "do not include the trust root" in report["reason"]


def test_without_policy_cosignatures_are_ignored(folder: Path) -> None:
    """Without --policy a cosigned checkpoint verifies as before (cosignature lines are unknown keys)."""
    args = with_checkpoint(folder, STRANGER)
    code, report = run_json(args[:-2])
    assert code == 0, report


def test_report_names_the_witness_policy_and_who_cosigned(folder: Path) -> None:
    """--report records the pinned policy (SHA-256, quorum, witnesses) and who cosigned when, and no longer
    lists witness cosignatures among the checks not made; without --policy it still does."""
    import hashlib
    import json

    args = with_checkpoint(folder, TIGTA, GAO)
    code, _, _ = run([*args, "--report", str(folder / "rep")])
    assert code == 0
    record = json.loads((folder / "rep.json").read_text())
    wp = record["policy"]["witness_policy"]
    assert wp["sha256"] == hashlib.sha256((folder / "court.policy").read_bytes()).hexdigest()
    assert [c.split(" ")[0] for c in wp["cosigned"]] == ["tigta", "gao"]
    assert "witness cosignatures on the checkpoint" not in record["not_checked"]
    assert "cosigned by gao (witness.gao.example/w1) at 2026-05-28T20:27:40Z" in (folder / "rep.txt").read_text()
    code, _, _ = run([*args[:-2], "--report", str(folder / "plain")])
    assert json.loads((folder / "plain.json").read_text())["policy"]["witness_policy"] is None


def test_a_checkpoint_given_as_policy_is_a_usage_error(folder: Path) -> None:
    """A file of another kind given as --policy: exit 2, saying what it is."""
    args = with_checkpoint(folder, TIGTA, GAO)
    code, _out, err = run([*args[:-1], str(folder / "checkpoint.txt")])
    assert code == 2 and "is a checkpoint, not a witness policy" in err
