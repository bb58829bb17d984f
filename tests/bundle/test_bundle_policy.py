"""verify_ledger.py --bundle DIR --policy FILE: the bundle's checkpoint must meet the court's pinned
witness policy; a witness policy shipped inside the bundle (witness.policy) is only compared with it,
and one naming a witness the court's policy does not is refused."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path
from typing import Any

from ledger.core.cosignature import CosignerSigner
from ledger.core.note import parse_note
from ledger.core.witness_protocol import with_lines

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))

import verify_ledger  # noqa: E402

TIGTA = CosignerSigner("witness.tigta.example/w1", bytes([2]) * 32)
GAO = CosignerSigner("witness.gao.example/w1", bytes([3]) * 32)
IRS = CosignerSigner("witness.irs.example/w1", bytes([9]) * 32)


def verify(args: list[str]) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = verify_ledger.main([*args, "--json"])
    return code, json.loads(out.getvalue())


def prepared(copy: Any, *signers: CosignerSigner) -> tuple[Path, Path]:
    d: Path = copy()
    note = (d / "checkpoint").read_text()
    text = parse_note(note).text
    (d / "checkpoint").write_text(with_lines(note, [s.cosign(text, 1_780_000_000) for s in signers]))
    vkey = (d / "trust_root.vkey").read_text().strip()
    court = d.parent / "court.policy"
    court.write_text(f"log {vkey}\nwitness tigta {TIGTA.verifier}\nwitness gao {GAO.verifier}\n"
                     "group both all tigta gao\nquorum both\n")
    return d, court


def test_bundle_meeting_the_pinned_policy_verifies(copy: Any) -> None:
    """Both pinned witnesses cosigned the bundle's checkpoint: exit 0, both named."""
    d, court = prepared(copy, TIGTA, GAO)
    code, report = verify(["--bundle", str(d), "--vkey", str(d / "trust_root.vkey"), "--policy", str(court)])
    assert code == 0, report
    detail = dict((c["check"], c["detail"]) for c in report["checks"])["witnesses"]
    assert "tigta" in detail and "gao" in detail


def test_bundle_below_the_pinned_quorum_is_refused(copy: Any) -> None:
    """One of the two required witnesses: exit 1."""
    d, court = prepared(copy, TIGTA)
    code, report = verify(["--bundle", str(d), "--vkey", str(d / "trust_root.vkey"), "--policy", str(court)])
    assert code == 1 and "does not meet" in report["reason"]


def test_shipped_policy_naming_a_witness_the_court_does_not_is_refused(copy: Any) -> None:
    """The bundle's own witness.policy names the operator's witness: refused even though the court's
    quorum is met, because the court's policy decides and the shipped one leans on a witness it does
    not trust."""
    d, court = prepared(copy, TIGTA, GAO, IRS)
    (d / "witness.policy").write_text(f"witness tigta {TIGTA.verifier}\nwitness irs {IRS.verifier}\n"
                                      "group g any tigta irs\nquorum g\n")
    code, report = verify(["--bundle", str(d), "--vkey", str(d / "trust_root.vkey"), "--policy", str(court)])
    assert code == 1
    assert "names witnesses the pinned policy does not: irs" in report["reason"]


def test_shipped_policy_within_the_court_s_is_only_noted(copy: Any) -> None:
    """A shipped policy naming only witnesses the court pinned (under any names) passes with a note."""
    d, court = prepared(copy, TIGTA, GAO)
    (d / "witness.policy").write_text(f"witness t {TIGTA.verifier}\nquorum t\n")
    code, report = verify(["--bundle", str(d), "--vkey", str(d / "trust_root.vkey"), "--policy", str(court)])
    assert code == 0, report
    assert any("witness.policy names no witness outside --policy" in n for n in report["notes"])
