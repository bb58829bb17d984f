"""What the court's verifier says to the person running it: usage errors and progress on stderr.

The checks themselves are the integrity core's (ledger.core.export_verify, ledger.core.pipeline).
This is a part of scripts/verify_ledger.py; scripts/build_verifier.py bundles it with the
integrity core (ledger/core/) and the rest of the command line into that one standalone file.
"""

from __future__ import annotations

import sys
import time
from typing import Any


class UsageError(Exception):
    """Bad arguments or an unreadable file (exit 2)."""


# ---- progress on stderr -------------------------------------------------------------
class _Progress:
    """tqdm when it is installed, else a plain counter; both on stderr."""

    def __init__(self, total_bytes: int, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.done = 0
        self.total = total_bytes
        self.last = 0.0
        if not enabled:
            return
        try:
            import tqdm

            tqdm.tqdm.monitor_interval = 0  # no monitor thread
            self.bar = tqdm.tqdm(total=total_bytes, unit="B", unit_scale=True, desc="verify", file=sys.stderr)
        except ImportError:
            self.bar = None

    def update(self, nbytes: int, entries: int) -> None:
        if not self.enabled:
            return
        self.done += nbytes
        if self.bar is not None:
            self.bar.update(nbytes)
            self.bar.set_postfix(entries=entries, refresh=False)
            return
        now = time.monotonic()
        if now - self.last >= 0.5:
            self.last = now
            share = 100.0 * self.done / self.total if self.total else 100.0
            sys.stderr.write(f"\rverify: {entries} entries ({share:.0f}%)")
            sys.stderr.flush()

    def close(self) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.close()
        else:
            sys.stderr.write("\n")
            sys.stderr.flush()
