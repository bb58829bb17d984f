"""`disclosure-ledger witness …`: the witness an oversight body runs on its own machine.

    witness init --name NAME [--dir DIR] [--db URL]     a new witness: key, settings, database; prints its vkey
    witness add-log --origin ORIGIN --vkey VKEY          follow a log (again with a second key during a rotation)
    witness remove-log-key --origin ORIGIN --vkey VKEY   stop trusting one of a log's keys (the rotation's end)
    witness logs                                         the logs followed, their keys, the latest size cosigned
    witness serve [--host H] [--port N]                  the tlog-witness HTTP service
    witness refusals [--origin O] [--status N] [--json] [--body ID]   the refused submissions kept as evidence
    witness vkey                                         print this witness's verifier key
    witness rotate-key                                   a new key for this witness (the old one is kept aside)

DIR is --dir, else LEDGER_WITNESS_DIR, else ./witness. Runs as ``python -m ledger.witness`` too, which
loads nothing of the ledger but its integrity core. Mistakes: one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from ledger.core.cosignature import CosignerSigner, check_cosigner_name
from ledger.core.errors import LedgerError
from ledger.core.keys import parse_vkey
from ledger.witness.settings import DEFAULT_DIR_ENV, RETIRED_DIR, WitnessSettings, write_key
from ledger.witness.state import WitnessStore

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class Usage(Exception):
    """A mistake in how the command was called (exit 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise Usage(message)


def add_parser(sub: Any) -> None:
    """Add ``witness`` and its subcommands to a parser's subparsers."""
    witness = sub.add_parser("witness", help="run a witness (c2sp.org/tlog-witness) on your own machine",
                             description=__doc__.split("\n\n")[0])
    commands = witness.add_subparsers(dest="witness_command", required=True, parser_class=_Parser)

    def command(name: str, text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = commands.add_parser(name, help=text, description=text)
        p.add_argument("--dir", type=Path, help=f"the witness's folder (default: {DEFAULT_DIR_ENV} or ./witness)")
        return p

    init = command("init", "create a witness: its Ed25519 cosignature/v1 key, settings and database")
    init.add_argument("--name", required=True, help="the witness's key name, e.g. witness.tigta.example/w1")
    init.add_argument("--db", help="database URL (default sqlite:///DIR/witness.sqlite3; or postgresql://…)")
    add = command("add-log", "follow a log: its origin and a checkpoint verifier key")
    add.add_argument("--origin", required=True)
    add.add_argument("--vkey", required=True, help="the log's checkpoint verifier key (name+hex+base64)")
    rm = command("remove-log-key", "stop trusting a log key (after a log-key rotation)")
    rm.add_argument("--origin", required=True)
    rm.add_argument("--vkey", required=True)
    command("logs", "the logs followed and the latest checkpoint cosigned for each")
    serve = command("serve", "serve add-checkpoint and the monitoring endpoint over HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=7380, help="port (default 7380; 0 takes a free one)")
    ref = command("refusals", "the submissions refused, kept with their signatures")
    ref.add_argument("--origin")
    ref.add_argument("--status", type=int, choices=[400, 409, 422])
    ref.add_argument("--json", action="store_true", help="JSON Lines, each with the request body as received")
    ref.add_argument("--body", type=int, metavar="ID", help="write refusal ID's request body, byte for byte")
    command("vkey", "print the witness's verifier key")
    command("rotate-key", "replace the witness's key (the old one moves to retired-keys/)")


def _dir(args: argparse.Namespace) -> Path:
    return Path(args.dir or os.environ.get(DEFAULT_DIR_ENV) or "witness")


def run(args: argparse.Namespace) -> int:
    """Run a parsed ``witness`` command; one line on stderr for every mistake."""
    try:
        return _run(args)
    except Usage as e:
        print(f"witness: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except LedgerError as e:
        print(f"witness: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:
        print(f"witness: error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return EXIT_USAGE


def _run(args: argparse.Namespace) -> int:
    folder = _dir(args)
    if args.witness_command == "init":
        return _init(folder, args.name, args.db)
    settings = WitnessSettings.load(folder)
    command = args.witness_command
    if command == "vkey":
        print(settings.vkey)
        return EXIT_OK
    if command == "rotate-key":
        return _rotate(settings)
    if command == "serve":
        from ledger.witness.http import serve
        from ledger.witness.service import Witness

        if not 0 <= args.port <= 65535:
            raise Usage(f"--port {args.port} is not a port number")
        signer = settings.signer()
        store = WitnessStore(settings.db_url)
        store.check_schema()
        serve(Witness(signer, store), args.host, args.port)
        return EXIT_OK
    with WitnessStore(settings.db_url) as store:
        store.check_schema()
        if command == "add-log":
            key = parse_vkey(args.vkey.strip())
            if not args.origin or "\n" in args.origin:
                raise Usage("--origin is one non-empty line, the log's checkpoint origin")
            new = store.add_log_key(args.origin, str(key))
            print(f"{'following' if new else 'already following'} {args.origin} with key {key}")
            return EXIT_OK
        if command == "remove-log-key":
            store.remove_log_key(args.origin, str(parse_vkey(args.vkey.strip())))
            print(f"{args.origin}: key {args.vkey.strip()} removed")
            return EXIT_OK
        if command == "logs":
            for log in store.logs():
                held = "nothing cosigned yet" if log.size is None else \
                    f"size {log.size} root {log.root.hex() if log.root else ''} cosigned at {log.cosigned_at}"
                print(f"{log.origin}\t{held}\tkeys: {', '.join(log.keys)}")
            return EXIT_OK
        if command == "refusals":
            return _refusals(store, args)
    raise AssertionError(command)  # pragma: no cover


def _init(folder: Path, name: str, db: str | None) -> int:
    check_cosigner_name(name)
    if (folder / "witness.json").exists() or (folder / "witness.key").exists():
        raise Usage(f"{folder} already holds a witness; pick another --dir")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    signer = CosignerSigner.generate(name)
    settings = WitnessSettings(folder, name, str(signer.verifier), db or f"sqlite:///{folder.resolve()}/witness.sqlite3")
    with WitnessStore(settings.db_url) as store:
        store.create_tables()
    write_key(folder, signer)
    settings.save()
    print(settings.vkey)
    print(f"witness {name} created in {folder}; its private key is {settings.key_file} (back it up, keep it "
          "secret); give the verifier key above to the logs and courts that rely on it", file=sys.stderr)
    return EXIT_OK


def _rotate(settings: WitnessSettings) -> int:
    old = settings.signer()
    retired = settings.dir / RETIRED_DIR
    retired.mkdir(mode=0o700, exist_ok=True)
    archive = retired / f"witness-{old.verifier.key_id:08x}-{int(time.time())}.key"
    os.link(settings.key_file, archive)
    signer = CosignerSigner.generate(settings.name)
    write_key(settings.dir, signer, replace=True)
    WitnessSettings(settings.dir, settings.name, str(signer.verifier), settings.db_url).save()
    print(signer.verifier)
    print(f"new key for {settings.name}; the old one ({old.verifier}) is in {archive}. Restart 'witness serve' and "
          "give the new verifier key to every log and court that relies on this witness", file=sys.stderr)
    return EXIT_OK


def _refusals(store: WitnessStore, args: argparse.Namespace) -> int:
    rows = store.refusals(args.origin, args.status)
    if args.body is not None:
        match = [r for r in rows if r.id == args.body]
        if not match:
            raise Usage(f"no refusal {args.body}")
        sys.stdout.buffer.write(match[0].body)
        return EXIT_OK
    for r in rows:
        if args.json:
            print(json.dumps({"id": r.id, "origin": r.origin, "status": r.status, "reason": r.reason,
                              "old_size": r.old_size, "size": r.size, "held_size": r.held_size,
                              "first_seen": r.first_seen, "last_seen": r.last_seen, "times": r.times,
                              "body": r.body.decode("utf-8", "replace")}))
        else:
            print(f"{r.id}\t{r.status}\t{r.origin}\tsize {r.size} (old {r.old_size}, held {r.held_size})\t"
                  f"{r.times}x, first {r.first_seen}\t{r.reason}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """``python -m ledger.witness …``: the witness alone, without the ledger's command."""
    parser = _Parser(prog="python -m ledger.witness", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(["witness", *argv] if argv[:1] != ["witness"] else argv)
    except Usage as e:
        print(f"witness: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    return run(args)
