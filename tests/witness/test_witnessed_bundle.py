"""Evidence bundles carry the cosigned checkpoint (and the operator's policy as witness.policy); the
court's verifier with its own --policy accepts them, and refuses an unwitnessed bundle as below quorum."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path
from typing import Any

from domainfix import AGENCY, ORIGIN, one_line_request, open_domain
from publishfix import trio, witnessed

from ledger.domain.bundle import write_bundle
from ledger.rules.engine import RuleEngine
from ledger.store.ledger import Ledger

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))

import verify_ledger  # noqa: E402


def verify(args: list[str]) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = verify_ledger.main([*args, "--json"])
    return code, json.loads(out.getvalue())


def test_bundle_carries_the_cosigned_checkpoint(settings: Any, tmp_path: Path) -> None:
    domain = open_domain(settings)
    requester = domain.principal("ice.dhs.gov/director", ["requester"], agency=AGENCY, category="agency_head")
    request_id = domain.submit(one_line_request(requester)).statement_id
    root = str(domain.ledger.trust_root())
    write_bundle(domain.ledger, request_id, tmp_path / "unwitnessed")
    domain.ledger.close()
    assert not (tmp_path / "unwitnessed" / "witness.policy").exists()
    with trio(tmp_path / "w") as t:
        t.add_log(ORIGIN, root)
        policy = t.write_policy([root])
        court = tmp_path / "court.policy"  # the court pins its own copy (here: the same witnesses)
        court.write_bytes(policy.read_bytes())
        with Ledger(witnessed(settings, policy), rules=RuleEngine()) as ledger:
            assert ledger.publish(lease_timeout=5) is not None
            write_bundle(ledger, request_id, tmp_path / "b")
    assert (tmp_path / "b" / "witness.policy").read_bytes() == policy.read_bytes()
    (tmp_path / "root.vkey").write_text(root + "\n")
    code, report = verify(["--bundle", str(tmp_path / "b"), "--vkey", str(tmp_path / "root.vkey"),
                           "--policy", str(court)])
    assert code == 0, report
    detail = dict((c["check"], c["detail"]) for c in report["checks"])["witnesses"]
    assert "tigta" in detail and "gao" in detail and "jct" in detail
    code, report = verify(["--bundle", str(tmp_path / "unwitnessed"), "--vkey", str(tmp_path / "root.vkey"),
                           "--policy", str(court)])
    assert code == 1 and "quorum" in json.dumps(report)
