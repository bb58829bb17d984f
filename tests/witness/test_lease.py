"""The publisher lease, on SQLite (flock) and PostgreSQL (advisory lock): one holder at a time across
processes; a holder that dies (killed process, closed connection) leaves it to the next."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ledger.config import Settings
from ledger.store.lease import PublisherLease

HOLD = """
import sys, time
from pathlib import Path
from ledger.config import Settings
from ledger.store.lease import PublisherLease
s = Settings(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
lease = PublisherLease(s)
with lease.held(10) as got:
    print("held" if got else "not", flush=True)
    time.sleep(60)
"""


def test_one_holder_across_processes(settings: Settings) -> None:
    settings.checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, settings.db_url, str(settings.key_dir),
                               str(settings.checkpoint_path)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        mine = PublisherLease(settings)
        started = time.monotonic()
        with mine.held(0.3) as got:
            assert not got  # held by the other process
        assert time.monotonic() - started >= 0.3
        holder.send_signal(signal.SIGKILL)  # the holder dies holding it
        holder.wait(10)
        deadline = time.monotonic() + 10
        got = False
        while not got and time.monotonic() < deadline:
            with mine.held(0.5) as got:
                pass
        assert got
        other = PublisherLease(settings)  # inside the lease, a second holder (another process's view) waits
        with mine.held(1) as first:
            assert first
            with other.held(0.1) as second:
                assert not second
        with other.held(1) as second:
            assert second
        mine.close()
        other.close()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)
