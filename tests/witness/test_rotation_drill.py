"""The log's key rotation with witnesses (OPERATIONS § 16.5), on SQLite and PostgreSQL: the new key
signs beside the old during the overlap, every witness learns it and the policy lists both before the
old one retires; a witness that did not learn it refuses (403) once the old key retires and counts
for nothing until it does — 2 of 3 still publish; retiring is refused while the policy lacks the new key."""

from __future__ import annotations

from pathlib import Path

import pytest
from publishfix import trio, witnessed
from storefix import ORIGIN, build_world

from ledger.authoring.trust import countersign
from ledger.config import Settings
from ledger.core.errors import LedgerError
from ledger.core.tlog_policy import parse_policy
from ledger.core.witnessed import check_witness_policy
from ledger.store.ledger import Ledger
from ledger.store.rotation import retire_old_checkpoint_keys, rotate_ledger_keys


def test_log_key_rotation_with_witnesses(settings: Settings, tmp_path: Path) -> None:
    world = build_world(settings)
    old = str(world.ledger.trust_root())
    world.ledger.close()
    with trio(tmp_path / "w") as t:
        t.add_log(ORIGIN, old)
        policy_path = t.write_policy([old])
        ws = witnessed(settings, policy_path)
        with Ledger(ws) as ledger:
            ledger.inline_checkpoints = False
            assert ledger.publish(lease_timeout=5) is not None
            rotate_ledger_keys(ledger, world.admin.name, lambda note: countersign(note, world.admin))
            new = str(ledger.trust_root())
            assert new != old
            # overlap: checkpoints carry both log signatures; the witnesses still trust the old key
            ledger.append(world.statement(n=1))
            during = ledger.publish(lease_timeout=5)
            assert during is not None
            for key in (old, new):
                policy_both = parse_policy(f"log {old}\nlog {new}\n" + "\n".join(
                    line for line in policy_path.read_text().splitlines() if not line.startswith("log ")) + "\n")
                from ledger.core.keys import parse_vkey

                check_witness_policy(during.encode(), parse_vkey(key), policy_both)
            # retiring before the policy lists the new key: refused
            with pytest.raises(LedgerError, match="does not list the new checkpoint key"):
                retire_old_checkpoint_keys(ledger)
        # two witnesses learn the new key (jct forgets to); the policy lists both keys
        t.by_name("tigta").add_log(ORIGIN, new)
        t.by_name("gao").add_log(ORIGIN, new)
        t.write_policy([new, old])
        with Ledger(ws) as ledger:
            ledger.inline_checkpoints = False
            retire_old_checkpoint_keys(ledger)
            ledger.append(world.statement(n=2))
            after = ledger.publish(lease_timeout=5)
            assert after is not None and len(after.note.signatures) == 1 + 2  # the new key, tigta, gao
            status = ledger.publisher.status()
            jct = next(w for w in status.witnesses if w.name == "jct")
            assert jct.problem is not None and "403" in jct.problem
            # jct learns the key: 3 of 3 again
            t.by_name("jct").add_log(ORIGIN, new)
            ledger.append(world.statement(n=3))
            final = ledger.publish(lease_timeout=5)
            assert final is not None
            from ledger.core.keys import parse_vkey

            got = check_witness_policy(final.encode(), parse_vkey(new), parse_policy(policy_path.read_bytes()))
            assert len(got.cosigned) == 3
        # the old key is removed from the witnesses after the overlap
        for w in t.witnesses:
            w.store.remove_log_key(ORIGIN, old)
        t.write_policy([new])
        with Ledger(ws) as ledger:
            ledger.append(world.statement(n=4))
            assert ledger.publish(lease_timeout=5) is not None
        for w in t.witnesses:
            sizes = w.sizes()
            assert sizes == sorted(set(sizes)), (w.name, w.seen)
            assert not [s for s in w.seen if s[0] == 409], (w.name, w.seen)
