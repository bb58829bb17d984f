"""bench/fork_drill.py, reduced (two seeded trials): the operator's four forks — a rewritten entry, a
truncated log, a restored older database, a split view — never reach the quorum, the witnesses refuse
them and keep the evidence, the court's verifier refuses every forked bundle (and accepts the honest
one), and the monitor alarms on each. The full run is 50 trials (bench/README.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "bench") not in sys.path:
    sys.path.insert(0, str(ROOT / "bench"))

import fork_drill  # noqa: E402

TRIALS = 2


def test_fork_drill_reduced(tmp_path: Path) -> None:
    out = tmp_path / "counts.json"
    assert fork_drill.main(["--trials", str(TRIALS), "--seed", "7", "--json", str(out)]) == 0
    counts = json.loads(out.read_text())
    assert counts["trials"] == TRIALS and counts["published"] == TRIALS and counts["misses"] == []
    assert counts["quorum_forks"] == {}
    assert counts["verifier_accepted_honest"] == TRIALS
    assert counts["verifier_refused"] == dict.fromkeys(fork_drill.ATTACKS, TRIALS)
    assert counts["ledger_refused"] == TRIALS and counts["publisher_refused"] == TRIALS
    assert {k.split(":")[0]: v for k, v in counts["alarms"].items()} == dict.fromkeys(fork_drill.ATTACKS, TRIALS)
    assert counts["alarms"]["truncated:rollback"] == TRIALS and counts["alarms"]["rewritten:fork"] == TRIALS
    assert set(counts["cosigned_forks"]) <= {"split"}  # only a split view's first submission can be cosigned
    assert counts["cosigned_forks"].get("split", 0) <= TRIALS  # by at most one witness each time
    assert counts["answers"]["422"] > 0 and counts["answers"]["409"] > 0
    kept = sum(v for k, v in counts["kept_refusals"].items() if k.endswith((":422", ":409", ":400")))
    assert kept > 0
