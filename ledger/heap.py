"""The cyclic garbage collector's settings for the ledger's long-running and forked processes.

The ledger's work makes and drops millions of small acyclic objects (parsed statements, items,
openings), which reference counting frees as they go; at CPython's default thresholds (700, 10,
10) the cyclic collector still runs thousands of times per bulk statement and scans every object
it cannot prove old. Measured with ``bench/bench_bulk.py`` at 130,000 lines (SQLite): the
collector took 15-20 % of the requester's and the service's second process's time, and 1.4 s of
the service's own ~7 s. Cycles are still collected under these settings, only less often.
"""

from __future__ import annotations

import gc

WORKER_GC_THRESHOLDS = (50_000, 20, 100)  # a forked worker's collector
SERVICE_GC_THRESHOLDS = (50_000, 20, 100)  # the service's (``disclosure-ledger serve``)


def settle_worker_heap() -> None:
    """First thing in a forked worker (a principal's process, a root or matching range, the
    service's second process): freeze what it inherited and collect young objects less often.

    ``gc.freeze`` moves every inherited object to the collector's permanent generation: never
    scanned again, and the collector no longer writes to those objects' pages, so they stay
    shared with the parent. Call only in a process that will exit when its work is done."""
    gc.freeze()
    gc.set_threshold(*WORKER_GC_THRESHOLDS)


def settle_service_heap() -> None:
    """Once the service's app is built (``serve``, each worker of ``serve --workers``): what was
    loaded to start it (modules, settings, keys, the app) is frozen out of the collector's scans,
    and young objects are collected less often."""
    gc.collect()  # (what start-up left as garbage is freed, not frozen)
    gc.freeze()
    gc.set_threshold(*SERVICE_GC_THRESHOLDS)
