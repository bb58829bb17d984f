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

from ledger.config import Settings


def register(subparsers: Any) -> None:
    serve = subparsers.add_parser("serve", help="run the HTTP API (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
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
    import uvicorn

    from api.app import create_app
    from api.settings import ApiSettings
    from ledger.sealed import SealedKeys

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    app = create_app(ApiSettings.from_env(settings), SealedKeys.from_env())  # no default keys
    # uvicorn's own access log would print query strings; ours (api.access) does not.
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="info")
    return 0
