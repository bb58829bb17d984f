"""A process that starts over a large log replays it into its caches inside one read transaction,
spending long stretches in Python between statements. PostgreSQL sessions idle in a transaction
for longer than the library's timeout (5 s by default) are ended by the server; the replay lifts
that timeout for its own transaction (found by the 130k-line bulk benchmark's restart replay)."""

from __future__ import annotations

import time
from dataclasses import replace

from ledger.config import Settings
from ledger.core.trust import TRUST_TYPES
from ledger.store.chain import REPLAY_ROWS
from ledger.store.ledger import Ledger


class SlowRules:
    """Replays "request" entries; the first one takes longer than the session timeout below."""

    types = frozenset({"request"})

    def __init__(self) -> None:
        self.applied = 0

    def reset(self) -> None:
        self.applied = 0

    def apply(self, stmt, index, trust) -> None:  # (the chain also hands over the trust entries)
        if stmt.type != "request":
            return
        if self.applied == 0:
            time.sleep(2.5)
        self.applied += 1

    def check_schema(self, stmt) -> None:
        pass

    def check(self, stmt, index, trust):
        return []


def test_a_long_replay_outlives_the_idle_transaction_timeout(world, monkeypatch):
    notes = [world.statement(n=k) for k in range(REPLAY_ROWS + 50)]
    for start in range(0, len(notes), 100):
        world.ledger.append_batch(notes[start:start + 100])
    size = world.ledger.size()
    # The library's timeout, shortened to 1 s so that a 2.5 s replay step outlives it.
    env = Settings.eventsourcing_env
    monkeypatch.setattr(Settings, "eventsourcing_env",
                        lambda self: {**env(self), "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "1"})
    rules = SlowRules()
    again = Ledger(replace(world.settings, create_tables=False), rules=rules)
    try:
        assert again.synced_rules() is rules
        with world.ledger.store.reading() as db:
            requests = int(db.all(f"SELECT COUNT(*) FROM {db.t('dl_entries')} WHERE stype = 'request'")[0][0])
        assert rules.applied == requests >= len(notes)
        # and the next append, in a transaction of its own, lands after the replayed head
        assert again.append(world.statement(n=-1)).index == size
    finally:
        again.close()


class RecordingRules(SlowRules):
    """Records the index of every entry the chain hands over, trust entries included."""

    types = frozenset({"request"})

    def __init__(self) -> None:
        super().__init__()
        self.indices: list[int] = []

    def reset(self) -> None:
        self.indices = []

    def apply(self, stmt, index, trust) -> None:
        self.indices.append(index)


def test_a_replay_reads_the_log_a_page_at_a_time(world, monkeypatch):
    """Paged replay (pages of 7 here, so the log spans many): every replayed entry once, in index
    order, none past the head, and the trust state and the next append as after a one-page replay."""
    import ledger.store.chain as chain

    notes = [world.statement(n=k) for k in range(40)]
    world.ledger.append_batch(notes)
    size = world.ledger.size()
    types = sorted(TRUST_TYPES | {"request"})
    with world.ledger.store.reading() as db:
        expected = [int(r[0]) for r in db.all(f"SELECT idx FROM {db.t('dl_entries')} WHERE stype IN ("
                                              + ",".join(["%s"] * len(types)) + ") ORDER BY idx", types)]
    monkeypatch.setattr(chain, "SYNC_PAGE", 7)
    rules = RecordingRules()
    again = Ledger(replace(world.settings, create_tables=False), rules=rules)
    try:
        again.synced_rules()
        assert len(expected) > 7 * 3 and rules.indices == expected
        assert again.trust().size == size
        assert again.append(world.statement(n=-1)).index == size
    finally:
        again.close()
