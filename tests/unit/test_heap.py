"""The collector's settings for forked workers and the service (ledger.heap), each checked in a
forked child so that this test process's own collector is left alone."""

from __future__ import annotations

import gc
import multiprocessing

import pytest

from ledger.heap import SERVICE_GC_THRESHOLDS, WORKER_GC_THRESHOLDS, settle_service_heap, settle_worker_heap


def _report(settle, sender):
    held = [object() for _ in range(10)]  # inherited-like objects made before settling
    settle()
    sender.send((gc.get_threshold(), gc.get_freeze_count() >= len(held), gc.isenabled()))
    sender.close()


@pytest.mark.parametrize(("settle", "thresholds"), [(settle_worker_heap, WORKER_GC_THRESHOLDS),
                                                     (settle_service_heap, SERVICE_GC_THRESHOLDS)])
def test_settling_freezes_and_raises_the_thresholds(settle, thresholds):
    before = gc.get_threshold(), gc.get_freeze_count()
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_report, args=(settle, sender))
    child.start()
    sender.close()
    got = receiver.recv()
    child.join(timeout=30)
    assert got == (thresholds, True, True)  # frozen, thresholds raised, the collector still on
    assert thresholds[0] > 700  # less often than the interpreter's default
    assert (gc.get_threshold(), gc.get_freeze_count()) == before

