"""`disclosure-ledger projections …`: rebuild, catch up, show the views' lag, verify them against the log.

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
from projections.errors import ProjectionError
from projections.runner import PAGE, Runner, all_projections
from projections.source import LogSource
from projections.verify import verify_views

VIEWS_DB_ENV = "LEDGER_VIEWS_DB_URL"


class _Parser(argparse.ArgumentParser):
    """A mistake in a projections subcommand's arguments: one line on stderr, exit 2."""

    def error(self, message: str) -> Any:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _page(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def register(subparsers: Any) -> None:
    """Add the ``projections`` command to the ledger CLI's subparsers."""
    p = subparsers.add_parser("projections", help="read models: rebuild, catch up, status, verify")
    p.add_argument("--views-db", help=f"database URL of the views (default: {VIEWS_DB_ENV} or the ledger's)")
    sub = p.add_subparsers(dest="projections_command", required=True, parser_class=_Parser)
    names = sorted(all_projections())
    rebuild = sub.add_parser("rebuild", help="drop the views and rebuild them from the log")
    rebuild.add_argument("--name", choices=names, help="one projection (default: all)")
    rebuild.add_argument("--page", type=_page, default=PAGE, help=f"entries per transaction (default {PAGE})")
    catch_up = sub.add_parser("catch-up", help="apply the entries appended since the last run")
    catch_up.add_argument("--name", choices=names, help="one projection (default: all)")
    catch_up.add_argument("--page", type=_page, default=PAGE, help=f"entries per transaction (default {PAGE})")
    sub.add_parser("status", help="each projection's position, the log head and the lag")
    verify = sub.add_parser(
        "verify", help="rebuild the views from the log in a scratch database and compare them row by row",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Rebuild each projection from the log into a temporary SQLite database, up to the position\n"
                    "the live views record for it, and compare every view table row by row (by primary key)\n"
                    "with the live views; also check no position is beyond the log head. The live views are\n"
                    "only read. Exit 0: 'ok: ...' on stdout. Exit 1: one 'FAILED: projection P table T: ...'\n"
                    "line per differing table on stderr, naming keys and positions, never row contents.",
        epilog="example:\n"
               "  disclosure-ledger projections --views-db sqlite:///var/views.sqlite3 verify\n"
               "  ok: 4 projections, 13 tables, 327 rows match the log at position 98")
    verify.add_argument("--name", choices=names, help="one projection (default: all)")
    verify.add_argument("--page", type=_page, default=PAGE,
                        help=f"entries per transaction of the scratch rebuild (default {PAGE})")
    p.set_defaults(plugin_run=run)


def _runner(args: argparse.Namespace, settings: Settings) -> Runner:
    source = open_database(settings.db_url)
    views_url = args.views_db or os.environ.get(VIEWS_DB_ENV)
    views = open_database(views_url) if views_url else source
    return Runner(LogSource(source), views, page=getattr(args, "page", PAGE))


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run a ``projections`` subcommand; 0 on success."""
    try:
        runner = _runner(args, settings)
    except ProjectionError as e:  # a database URL that cannot be used: nothing was opened
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        if args.projections_command == "verify":
            return _verify(runner, args.name)
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


def _verify(runner: Runner, name: str | None) -> int:
    """Compare the views with a rebuild from the log; progress and differences on stderr."""
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def progress(stage: str, n: int, total: int | None) -> None:
        if stage not in bars:  # one bar per stage: the rebuild, then the comparison
            for bar in bars.values():
                bar.close()
            bars[stage] = tqdm(total=total, desc=f"verify: {stage}", unit="entry" if stage == "rebuild" else "row",
                               file=sys.stderr, disable=None)
        bars[stage].update(n)

    try:
        report = verify_views(runner.source, runner.views, name, runner.page, progress)
    finally:
        for bar in bars.values():
            bar.close()
    if report.ok:
        print(report.summary())
        return 0
    for d in report.differences:
        print(f"FAILED: {d.line()}", file=sys.stderr)
    return 1
