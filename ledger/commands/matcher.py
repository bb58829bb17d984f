"""`disclosure-ledger matcher …`: the matcher as a principal the operator deploys.

    matcher new-key --out FILE            the matcher store's key (32 random bytes, mode 0600)
    matcher import-master EXTRACT.csv     check a master-file extract and replace the matcher's store with it
    matcher run --key NAME [--follow]     match every filed request that has no match result, and submit

The store (LEDGER_MATCHER_STORE, default <var>/matcher/master.store) is encrypted under the store key
(LEDGER_MATCHER_KEY_FILE or --store-key; no default). `run` is on the operator's side: it opens the
requests' openings with the sealed-store keys (LEDGER_SEALED_*), signs with the matcher's key from the
keyring, and asks the ledger for each result's salt seed. Nothing it reads is ever printed or logged.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ledger.authoring.errors import UsageError
from ledger.client.keyring import Keyring
from ledger.config import Settings
from ledger.core.errors import LedgerError
from ledger.domain.bulk import BATCH_CHUNKS
from ledger.domain.matcher_store import ExtractError, default_store, import_extract, load_master, new_key, read_key


def add_parser(sub: Any) -> None:
    m = sub.add_parser("matcher", help="the matcher: its key, its master-file store, and matching filed requests",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cmds = m.add_subparsers(dest="matcher_command", required=True)
    nk = cmds.add_parser("new-key", help="make the matcher store's key (a new file, mode 0600)")
    nk.add_argument("--out", type=Path, required=True)
    imp = cmds.add_parser("import-master", help="load a master-file extract (CSV: tin,tin_type,name,address,dob) "
                                                "into the matcher's encrypted store, replacing what it held")
    imp.add_argument("file", type=Path, help="the extract (docs/OPERATIONS.md, \"The matcher\")")
    run = cmds.add_parser("run", help="match every filed request without a match result and submit the results")
    run.add_argument("--key", required=True, help="the matcher's key name in the keyring (role matcher)")
    run.add_argument("--follow", action="store_true", help="keep running: look for new requests every --interval")
    run.add_argument("--interval", type=float, default=5.0, help="seconds between two looks with --follow (default 5)")
    run.add_argument("--batch-chunks", type=int, default=BATCH_CHUNKS, metavar="N",
                     help=f"chunks of a bulk match result per transaction (default {BATCH_CHUNKS})")
    for p in (imp, run):
        p.add_argument("--store", type=Path, help="the matcher's store (default LEDGER_MATCHER_STORE or "
                                                  "<var>/matcher/master.store)")
        p.add_argument("--store-key", type=Path, help="the store key file (default LEDGER_MATCHER_KEY_FILE)")


def run(args: argparse.Namespace, settings: Settings, keyring: Keyring, var: Path) -> int:
    cmd = args.matcher_command
    if cmd == "new-key":
        print(json.dumps({"key_id": new_key(args.out), "file": str(args.out)}))
        print("keep this file with the sealed-store keys: the matcher's store opens only with it (if it is lost: a new "
              "key, and the extract imported again)", file=sys.stderr)
        return 0
    store = args.store or default_store(var)
    key = read_key(args.store_key)
    if cmd == "import-master":
        try:
            with _lock(store):
                n = import_extract(args.file, store, key)
        except ExtractError as e:
            raise UsageError(str(e)) from None
        print(json.dumps({"imported": n, "store": str(store)}))
        return 0
    return _run(args, settings, keyring, store, key)


@contextlib.contextmanager
def _lock(store: Path) -> Iterator[None]:
    """One matcher process at a time per store (the kernel releases the lock when its holder dies)."""
    store.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(store.with_name(store.name + ".lock"), "a") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LedgerError(f"another matcher process holds {f.name}") from None
        yield


def _run(args: argparse.Namespace, settings: Settings, keyring: Keyring, store: Path, key: bytes) -> int:
    from ledger.bootstrap import open_ledger
    from ledger.domain.matcher_run import Failed, run_once
    from ledger.domain.matching import MatcherPrincipal
    from ledger.domain.service import DisclosureService
    from ledger.sealed import SealedKeys, SealedStore

    stopping = False

    def stop(_signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signer = keyring.get(args.key)
    sealed_keys = SealedKeys.from_env()
    with _lock(store):
        matcher = MatcherPrincipal(signer, load_master(store, key))
        with open_ledger(settings) as ledger, SealedStore(settings.db_url, sealed_keys) as sealed:
            service = DisclosureService(ledger, sealed, sealed_keys)
            total, failed = 0, set[str]()
            while True:
                for done in run_once(service, matcher, max(1, args.batch_chunks), stop=lambda: stopping,
                                     skip=failed):
                    if isinstance(done, Failed):
                        print(f"request {done.request} not matched: {done.reason}", file=sys.stderr, flush=True)
                        continue
                    total += 1
                    print(json.dumps(done.__dict__), flush=True)
                service.seeds.flush()
                if not args.follow or stopping:
                    break
                deadline = time.monotonic() + args.interval
                while not stopping and time.monotonic() < deadline:
                    time.sleep(min(0.2, args.interval))
                if stopping:
                    break
    print(f"matched {total} requests" + (f"; {len(failed)} could not be matched (above)" if failed else ""),
          file=sys.stderr)
    return 1 if failed else 0
