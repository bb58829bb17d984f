"""SIGKILL a projection process mid-page: after a restart no entry is skipped or applied twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from logbuild import LogBuilder
from pjfix import dump, other_views_url, runner

from projections.disclosures import DisclosuresProjection

WORKER = Path(__file__).with_name("kill_worker.py")
PAGE = 5


def _log(settings) -> LogBuilder:
    log = LogBuilder.open(settings)
    released: set = set()
    for i in range(6):
        log.request(3, "DHS/ICE", "6103(i)(2)", [True, i % 2 == 0])
        log.match(i, [i, i + 1, None], [0, 2])
        log.review(i, [True, False])
        log.release(i, [True], released)
        log.blocked("release")
    return log


def test_sigkill_mid_page_then_restart(settings, tmp_path):
    """The killed page leaves no row; the restart applies it once; the result equals a rebuild."""
    log = _log(settings)
    head = log.ledger.size()
    views_url, cleanup = other_views_url(settings.db_url, tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, str(WORKER), settings.db_url, views_url, str(PAGE)],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        committed, in_page = [], 0
        for line in proc.stdout:
            if line.startswith("committed"):
                committed.append(int(line.split()[1]))
                in_page = 0
            elif line.startswith("applied"):
                in_page += 1
                if len(committed) == 3 and in_page == 2:  # two entries into the fourth page
                    proc.send_signal(signal.SIGKILL)
                    break
        assert proc.wait(timeout=30) == -signal.SIGKILL
        after_kill = runner(settings.db_url, views_url)
        after_kill.create()  # the worker ran only `disclosures`: add the other (empty) tables for the dump
        position = after_kill.tracking.position("disclosures")
        assert position == committed[-1] < head  # the three committed pages; the fourth rolled back
        # exactly the first `position` entries are reflected: compare with a build stopped there
        ref_url, cleanup_ref = other_views_url(settings.db_url, tmp_path)
        try:
            ref = runner(settings.db_url, ref_url, page=position)
            ref.catch_up("disclosures", max_pages=1)
            assert dump(after_kill.views) == dump(ref.views)
        finally:
            ref.views.close()
            cleanup_ref()
        # restart: catches up; equals a from-scratch rebuild, so nothing skipped or doubled
        restarted = runner(settings.db_url, views_url, page=PAGE)
        restarted.catch_up("disclosures")
        assert restarted.tracking.position("disclosures") == head
        full_url, cleanup_full = other_views_url(settings.db_url, tmp_path)
        try:
            full = runner(settings.db_url, full_url)
            full.rebuild("disclosures")
            assert dump(restarted.views) == dump(full.views)
            assert len(dump(full.views)["pj_release_line"]) > 0
        finally:
            full.views.close()
            cleanup_full()
    finally:
        if proc.poll() is None:
            proc.kill()
        log.ledger.close()
        cleanup()
    assert DisclosuresProjection.name == "disclosures"
