"""`disclosure-ledger projections …`: rebuild, catch up and show the views' lag.

Plugged into the ledger's CLI by entry point (``disclosure_ledger.commands``); the ledger
does not import this package.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ledger.config import Settings
from projections.db import open_database
from projections.runner import PAGE, Runner, all_projections
from projections.source import LogSource

VIEWS_DB_ENV = "LEDGER_VIEWS_DB_URL"


def register(subparsers: Any) -> None:
    """Add the ``projections`` command to the ledger CLI's subparsers."""
    p = subparsers.add_parser("projections", help="read models: rebuild, catch up, status")
    p.add_argument("--views-db", help=f"database URL of the views (default: {VIEWS_DB_ENV} or the ledger's)")
    sub = p.add_subparsers(dest="projections_command", required=True)
    names = sorted(all_projections())
    rebuild = sub.add_parser("rebuild", help="drop the views and rebuild them from the log")
    rebuild.add_argument("--name", choices=names, help="one projection (default: all)")
    rebuild.add_argument("--page", type=int, default=PAGE, help=f"entries per transaction (default {PAGE})")
    catch_up = sub.add_parser("catch-up", help="apply the entries appended since the last run")
    catch_up.add_argument("--name", choices=names, help="one projection (default: all)")
    catch_up.add_argument("--page", type=int, default=PAGE, help=f"entries per transaction (default {PAGE})")
    sub.add_parser("status", help="each projection's position, the log head and the lag")
    p.set_defaults(plugin_run=run)


def _runner(args: argparse.Namespace, settings: Settings) -> Runner:
    source = open_database(settings.db_url)
    views_url = args.views_db or os.environ.get(VIEWS_DB_ENV)
    views = open_database(views_url) if views_url else source
    return Runner(LogSource(source), views, page=getattr(args, "page", PAGE))


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run a ``projections`` subcommand; 0 on success."""
    runner = _runner(args, settings)
    try:
        if args.projections_command == "status":
            print(f"{'projection':<14} {'position':>12} {'head':>12} {'lag':>10}")
            for s in runner.status():
                print(f"{s.name:<14} {s.position:>12} {s.head:>12} {s.lag:>10}")
            return 0
        from tqdm import tqdm

        if args.projections_command == "rebuild":
            runner.reset(args.name)
        names = [args.name] if args.name else None
        todo = sum(s.lag for s in runner.status(names))
        with tqdm(total=todo, desc=args.projections_command, unit="entry", file=sys.stderr, disable=None) as bar:
            done = runner.catch_up(args.name, progress=lambda _name, n: bar.update(n))
        for name, n in sorted(done.items()):
            print(f"{name}: applied {n}", file=sys.stderr)
        return 0
    finally:
        runner.source.db.close()
        runner.views.close()
