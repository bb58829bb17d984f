"""The `disclosure-ledger` commands about publishing checkpoints: what `init`, `checkpoint` and `publish`
print, `verify` against the witnesses, `init --predecessor`, and `witness-request`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ledger.config import ConfigError
from ledger.core.errors import LedgerError
from ledger.core.keys import parse_vkey
from ledger.store.ledger import Ledger


def print_published(ledger: Ledger) -> int:
    """The published checkpoint; with witnesses and none cosigned yet, why (exit 0: the log itself is fine)."""
    if ledger.publisher.witnessed:
        latest = ledger.latest_checkpoint()
        print(f"witnesses: {ledger.publisher.status().describe()}", file=sys.stderr)
        if latest is not None:
            print(latest.encode(), end="")
        return 0
    print(ledger.checkpoint().encode(), end="")
    return 0


def against_witnesses(ledger: Ledger) -> Any:
    """The log against the largest checkpoint each witness of the policy cosigned (None: no policy).

    Kept apart from the comparison with the outside checkpoint copy: the witnesses' copies are the
    ones the operator cannot delete or roll back."""
    return ledger.publisher.high_water()


def predecessor(args: argparse.Namespace) -> dict[str, str]:
    """``init --predecessor FILE --predecessor-vkey VKEY``: the finished log's last cosigned checkpoint."""
    from ledger.core.checkpoint import open_checkpoint

    try:
        text = args.predecessor.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"--predecessor {args.predecessor}: {getattr(e, 'strerror', None) or e}") from None
    if not args.predecessor_vkey:
        raise ConfigError("--predecessor needs --predecessor-vkey: the finished log's checkpoint verifier key")
    try:
        vkey = parse_vkey(args.predecessor_vkey.strip())
        signed = open_checkpoint(text, vkey)
    except LedgerError as e:
        raise ConfigError(f"--predecessor {args.predecessor} is not a checkpoint of that key: {e}") from None
    if signed.checkpoint.origin == args.origin:
        raise ConfigError("--predecessor is a checkpoint of the same origin: a successor needs a new origin")
    return {"origin": signed.checkpoint.origin, "checkpoint_vkey": str(vkey), "checkpoint": text}


def witness_request(args: argparse.Namespace, ledger: Ledger) -> int:
    from ledger.core.cosignature import parse_cosigner_vkey
    from ledger.core.witness_protocol import with_lines
    from ledger.witness_client import WitnessRefused, WitnessUnreachable, request_cosignature

    try:
        witness = parse_cosigner_vkey(args.vkey.strip())
    except LedgerError as e:
        print(f"error: --vkey: {e}", file=sys.stderr)
        return 2
    if args.old_size < 0 or args.timeout <= 0:
        print("error: --old-size must be at least 0 and --timeout more than 0", file=sys.stderr)
        return 2
    checkpoint = ledger.checkpoint().encode()

    def prove(old: int, new: int) -> list[bytes]:
        return [bytes.fromhex(h) for h in ledger.consistency_proof(old, new)["path"]]

    try:
        got = request_cosignature(args.url, checkpoint, witness, prove, old_size=args.old_size, timeout=args.timeout)
    except WitnessUnreachable as e:
        print(f"error: the witness did not answer: {e}", file=sys.stderr)
        return 2
    except WitnessRefused as e:
        print(f"refused by the witness: {e}", file=sys.stderr)
        return 1
    print(with_lines(checkpoint, [got.line]) if args.cosigned else got.line.line(), end="")
    size = checkpoint.split("\n")[1]
    print(f"{witness.name} cosigned size {size} at POSIX time {got.timestamp} (sent with old size {got.old_size})",
          file=sys.stderr)
    return 0
