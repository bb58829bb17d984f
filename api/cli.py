"""`disclosure-ledger serve` and `disclosure-ledger api-token …`, plugged into the ledger's CLI.

Registered in pyproject.toml under ``disclosure_ledger.commands``; the ledger's CLI calls
``register(subparsers)`` and later ``args.plugin_run(args, settings)``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import timedelta
from typing import Any

from ledger.config import Settings, private_files
from ledger.heap import settle_service_heap


def register(subparsers: Any) -> None:
    serve = subparsers.add_parser("serve", help="run the HTTP API (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--views-db", help="projections database URL (default: LEDGER_VIEWS_DB_URL or the ledger's)")
    serve.add_argument("--workers", type=int, default=1,
                       help="uvicorn worker processes (default 1); /metrics sums their counters (OPERATIONS § 14)")
    serve.set_defaults(plugin_run=run_serve)

    tok = subparsers.add_parser("api-token", help="API tokens for oversight, court and operator principals")
    sub = tok.add_subparsers(dest="api_token_command", required=True)
    create = sub.add_parser("create", help="make a token (printed once; only its hash is stored)")
    create.add_argument("principal", help="who the token speaks for, e.g. tigta.gov/auditor-7")
    create.add_argument("--role", required=True, choices=["oversight", "court", "operator"])
    create.add_argument("--days", type=float, default=30.0, help="lifetime in days (default 30, at most 366)")
    revoke = sub.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("token_id")
    sub.add_parser("list", help="tokens: id, principal, role, expiry, revocation (never the secret)")
    tok.set_defaults(plugin_run=run_token)


def run_token(args: argparse.Namespace, settings: Settings) -> int:
    from api.tokens import TokenError, TokenStore

    store = TokenStore(settings.db_url)
    try:
        action = args.api_token_command
        if action == "create":
            text, row = store.create(args.principal, args.role, timedelta(days=args.days))
            print(text)
            print(f"token id {row.token_id}, {row.role} for {row.principal}, expires {row.expires_at}",
                  file=sys.stderr)
        elif action == "revoke":
            if not store.revoke(args.token_id):
                print(f"no unrevoked token {args.token_id}", file=sys.stderr)
                return 1
        else:
            for r in store.list():
                print(json.dumps({"id": r.token_id, "principal": r.principal, "role": r.role,
                                  "created_at": r.created_at, "expires_at": r.expires_at, "revoked_at": r.revoked_at}))
        return 0
    except TokenError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        store.close()


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    import os

    import uvicorn

    from projections.cli import VIEWS_DB_ENV

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    views_db = args.views_db or os.environ.get(VIEWS_DB_ENV) or None
    if args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    from ledger.store.ledger import Ledger

    with Ledger(settings) as ledger:  # (creates the tables of a new database, as every worker would)
        if ledger.outdated:
            print("error: this database was written by an earlier release: run `disclosure-ledger migrate` "
                  "first (docs/OPERATIONS.md)", file=sys.stderr)
            return 2
    _clear_metrics_dir()
    if args.workers > 1:
        return _serve_workers(args, settings, views_db)
    from api import server
    from api.app import create_app
    from api.settings import ApiSettings
    from ledger.sealed import SealedKeys

    api_settings = ApiSettings.from_env(settings)
    app = create_app(api_settings, SealedKeys.from_env(), views_db_url=views_db)  # no default keys
    settle_service_heap()
    server.configure(api_settings.header_timeout)
    uvicorn.Server(server.config(app, host=args.host, port=args.port,
                                 max_connections=api_settings.max_connections)).run()
    return 0


def _serve_workers(args: argparse.Namespace, settings: Settings, views_db: str | None) -> int:
    """Several uvicorn workers over one database: tables created once here, settings passed by environment.

    Each worker builds its app with ``worker_app``. Counters and histograms go to
    ``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary directory unless set; its ``*.db`` files are
    removed at start), so ``/metrics`` from any worker sums them over all.
    """
    import os
    import shutil
    import tempfile

    import uvicorn

    from api.metrics import MULTIPROC_ENV
    from projections.cli import VIEWS_DB_ENV

    _create_tables(settings, views_db)  # concurrent CREATEs from the workers could fail on PostgreSQL
    own_dir = None
    if not os.environ.get(MULTIPROC_ENV):
        own_dir = tempfile.mkdtemp(prefix="dl-metrics-")
        os.environ[MULTIPROC_ENV] = own_dir
    os.environ.update({"LEDGER_DB_URL": settings.db_url, "LEDGER_KEY_DIR": str(settings.key_dir),
                       "LEDGER_CHECKPOINT_FILE": str(settings.checkpoint_path)})
    if views_db:
        os.environ[VIEWS_DB_ENV] = views_db
    from api.server import HeaderDeadline
    from api.settings import ApiSettings

    api_settings = ApiSettings.from_env(settings)  # read here too: a bad value fails before any worker starts
    try:
        uvicorn.run("api.cli:worker_app", factory=True, host=args.host, port=args.port, workers=args.workers,
                    http=HeaderDeadline, limit_concurrency=api_settings.max_connections, access_log=False,
                    log_level="info")
    finally:
        if own_dir is not None:
            shutil.rmtree(own_dir, ignore_errors=True)
    return 0


def _clear_metrics_dir() -> None:
    """Remove the counters an earlier run left in PROMETHEUS_MULTIPROC_DIR (its ``*.db`` files), if set."""
    import os
    from pathlib import Path

    from api.metrics import MULTIPROC_ENV

    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        for stale in Path(directory).glob("*.db"):
            stale.unlink()


def _create_tables(settings: Settings, views_db: str | None) -> None:
    from api.ratelimit import LookupLimit
    from api.tokens import TokenStore
    from ledger.sealed import SealedKeys, SealedStore
    from ledger.store.ledger import Ledger
    from projections.db import open_database
    from projections.runner import Runner
    from projections.source import LogSource

    Ledger(settings).close()
    tokens = TokenStore(settings.db_url)
    LookupLimit(tokens, 1, 1.0).engine.dispose()  # creates api_rate_counts (the workers do not)
    tokens.close()
    SealedStore(settings.db_url, SealedKeys.from_env()).close()  # no default keys: fails here, not in a worker
    source = open_database(settings.db_url)
    views = open_database(views_db) if views_db else source
    try:
        Runner(LogSource(source), views).create()
    finally:
        if views is not source:
            views.close()
        source.close()


def worker_app() -> Any:
    """The app in each worker of ``serve --workers N`` (uvicorn's factory): settings from the environment."""
    import dataclasses
    import os

    from api.app import create_app
    from api.settings import ApiSettings
    from ledger.sealed import SealedKeys
    from projections.cli import VIEWS_DB_ENV

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from api import server

    private_files()  # as the command that started the workers: every file 0600
    settings = dataclasses.replace(Settings.from_env(), create_tables=False)
    api_settings = ApiSettings.from_env(settings)
    app = create_app(api_settings, SealedKeys.from_env(), views_db_url=os.environ.get(VIEWS_DB_ENV) or None)
    server.configure(api_settings.header_timeout)  # this worker's connections
    settle_service_heap()
    return app
