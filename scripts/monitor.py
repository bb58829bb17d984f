#!/usr/bin/env python3
"""Checkpoint monitor for oversight bodies: follow a Disclosure Ledger's public checkpoints.

    python monitor.py --url https://ledger.example.gov --vkey KEY --archive DIR
        [--policy FILE [--require-quorum]] [--interval SECONDS] [--once] [--polls N]

Each poll fetches the ledger's latest checkpoint (``GET /v1/checkpoint``), verifies its
signature with the pinned verifier key ``--vkey`` (the trust root, a C2SP vkey string or a
file holding it), and checks it against the last checkpoint archived in ``--archive``:

* a smaller tree size is a **rollback** (e.g. the operator restored an old database);
* the same size with another root is a **fork**;
* a larger size must come with a consistency proof (``GET /v1/proofs/consistency``) that
  verifies from the archived root to the new one (RFC 9162 § 2.1.4), else **inconsistent**.

A checkpoint that passes is archived as ``DIR/<size>.checkpoint`` (the exact note bytes),
so the archive is evidence anyone can re-check offline with the same key.

With ``--policy FILE`` (a c2sp.org/tlog-policy witness policy *you* pinned, never one the ledger
ships), every cosignature on the served checkpoint by a witness of the policy must verify
(**bad-cosignature** otherwise), and each witness with a URL in the policy is asked for the latest
checkpoint it cosigned of this log (``GET <url>/<hex SHA-256 of origin>/checkpoint``,
c2sp.org/tlog-witness). That checkpoint must carry the log's signature and the witness's own
cosignature (**witness-checkpoint** otherwise), and it must be consistent with what the ledger
serves: the same size with another root is a **fork** (a split view: the ledger showed the witness
another history), and a different size must be proved consistent by the ledger's own consistency
proof (**inconsistent** otherwise) — a witness ahead of the served checkpoint is fine once proved.
Each witness checkpoint that passes is archived as ``DIR/witness-<hex of the witness key ID>-<size>.checkpoint``.
Whether the served checkpoint meets the quorum is reported; with ``--require-quorum`` a checkpoint
below it is an alarm (**below-quorum**). A witness that does not answer is reported, not an alarm.

Exit status: 0 when every poll held (with ``--once`` or ``--polls``); **1 on an alarm**
(bad signature, rollback, fork, inconsistent proof, an archive that no longer verifies, and with
``--policy`` the witness alarms above),
printed to stderr as ``ALARM <kind>: <details>``; 2 for usage errors, or when the ledger
cannot be reached with ``--once``. A network failure in the polling loop is reported and
retried; it is not an alarm.

Standalone: Python 3.11+, pynacl, and ``verify_ledger.py`` (the court's verifier, which
bundles the ledger's integrity core) in the same folder. Nothing else, no secret.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import verify_ledger as core  # the bundled integrity core, next to this file

SUFFIX = ".checkpoint"


class Alarm(Exception):
    """Evidence that the ledger misbehaved (or the archive was altered)."""

    def __init__(self, kind: str, detail: str) -> None:
        self.kind = kind
        super().__init__(f"ALARM {kind}: {detail}")


class Unreachable(Exception):
    """The ledger did not answer as expected (network, HTTP status): not evidence of misbehaviour."""

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


def _get(url: str, timeout: float) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # the operator chooses the URL
            return bytes(response.read())
    except urllib.error.HTTPError as e:
        raise Unreachable(f"{url}: HTTP {e.code}", e.code) from None
    except (urllib.error.URLError, OSError) as e:
        raise Unreachable(f"{url}: {e}") from None


class Monitor:
    def __init__(self, base_url: str, vkey: core.VerifierKey, archive: Path, timeout: float = 10.0,
                 policy: core.WitnessPolicy | None = None, require_quorum: bool = False) -> None:
        self.base_url = base_url.rstrip("/")
        self.vkey = vkey
        self.archive = archive
        self.timeout = timeout
        self.policy = policy
        self.require_quorum = require_quorum
        self.reports: list[str] = []  # what the last poll found about witnesses, for the operator
        archive.mkdir(parents=True, exist_ok=True)

    def last_archived(self) -> core.SignedCheckpoint | None:
        """The largest archived checkpoint, re-verified (an altered archive is an alarm too)."""
        notes = sorted((p for p in self.archive.glob("*" + SUFFIX) if p.stem.isdigit()), key=lambda p: int(p.stem))
        if not notes:
            return None
        try:
            return core.open_checkpoint(notes[-1].read_bytes(), self.vkey)
        except core.LedgerError as e:
            raise Alarm("archive", f"{notes[-1]} does not verify with the pinned key: {e}") from None

    def poll(self) -> tuple[core.SignedCheckpoint, bool]:
        """One poll: (the current checkpoint, whether it is new). Raises Alarm or Unreachable."""
        data = _get(self.base_url + "/v1/checkpoint", self.timeout)
        try:
            signed = core.open_checkpoint(data, self.vkey)
        except core.LedgerError as e:
            raise Alarm("bad-signature", f"the served checkpoint does not verify with {self.vkey}: {e}") from None
        self.reports = []
        if self.policy is not None:
            self._check_served_cosignatures(data, self.policy)
        new = signed.checkpoint
        last = self.last_archived()
        if last is not None:
            old = last.checkpoint
            if new.size < old.size:
                raise Alarm("rollback", f"the ledger serves a checkpoint of size {new.size}, "
                                        f"smaller than the archived {old.size}")
            if new.size == old.size:
                if new.root != old.root:
                    raise Alarm("fork", f"two signed checkpoints of size {new.size} with different roots: "
                                        f"{old.root.hex()} archived, {new.root.hex()} served")
            else:
                self._prove(old, new, "the archived")
        if self.policy is not None:
            for witness in self.policy.witnesses:
                if witness.url:
                    self._check_witness(witness, new)
        if last is not None and last.checkpoint.size == new.size:
            return signed, False
        self._archive(f"{new.size}{SUFFIX}", data)
        return signed, True

    def _archive(self, name: str, data: bytes) -> None:
        target = self.archive / name
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)

    def _prove(self, old: core.Checkpoint, new: core.Checkpoint, what: str) -> None:
        """The ledger's consistency proof that ``new`` extends ``old``; Alarm inconsistent otherwise."""
        url = f"{self.base_url}/v1/proofs/consistency?old={old.size}&new={new.size}"
        try:
            proof = json.loads(_get(url, self.timeout))
            path = [bytes.fromhex(h) for h in proof["path"]]
            core.verify_consistency(old.size, new.size, old.root, new.root, path)
        except Unreachable as e:
            if what == "the archived" or e.status is None:
                raise
            raise Alarm("inconsistent", f"the ledger does not prove checkpoint {new.size} extends {what} "
                                        f"{old.size}: {e}") from None
        except (core.LedgerError, ValueError, KeyError, TypeError) as e:
            raise Alarm("inconsistent", f"checkpoint {new.size} is not proved to extend {what} "
                                        f"{old.size}: {e}") from None

    def _check_served_cosignatures(self, data: bytes, policy: core.WitnessPolicy) -> None:
        try:
            witnessed = core.open_witnessed(data, [self.vkey], policy)
        except core.LedgerError as e:
            raise Alarm("bad-cosignature", f"the served checkpoint carries a cosignature that fails: {e}") from None
        if witnessed.quorum_met:
            self.reports.append("witnessed: " + witnessed.summary())
            return
        if self.require_quorum:
            try:
                core.require_quorum(witnessed)
            except core.LedgerError as e:
                raise Alarm("below-quorum", str(e)) from None
        self.reports.append("not witnessed (below the policy's quorum): " + witnessed.summary())

    def _check_witness(self, witness: core.PolicyWitness, served: core.Checkpoint) -> None:
        """Compare the witness's latest cosigned checkpoint of this log with the served one."""
        assert self.policy is not None and witness.url is not None
        url = f"{witness.url.rstrip('/')}/{core.monitoring_path(served.origin)}"
        try:
            data = _get(url, self.timeout)
        except Unreachable as e:
            self.reports.append(f"witness {witness.name}: no checkpoint fetched ({e})")
            return
        try:
            seen = core.open_witnessed(data, [self.vkey], self.policy)
        except core.LedgerError as e:
            raise Alarm("witness-checkpoint", f"witness {witness.name} serves a checkpoint that does not verify "
                                              f"under the pinned keys: {e}") from None
        if not any(c.witness.key == witness.key for c in seen.cosigned):
            raise Alarm("witness-checkpoint", f"witness {witness.name} serves a checkpoint without its own "
                                              "cosignature")
        theirs = seen.signed.checkpoint
        if theirs.size == served.size and theirs.root != served.root:
            raise Alarm("fork", f"witness {witness.name} cosigned size {theirs.size} with root {theirs.root.hex()}, "
                                f"the ledger serves root {served.root.hex()}: a split view")
        if theirs.size < served.size:
            self._prove(theirs, served, f"what witness {witness.name} cosigned, size")
        elif theirs.size > served.size:
            self._prove(served, theirs, "the served checkpoint, size")
        self._archive(f"witness-{witness.key.key_id:08x}-{theirs.size}{SUFFIX}", data)
        self.reports.append(f"witness {witness.name}: cosigned size {theirs.size}, consistent with the ledger")


def _read_vkey(text: str) -> core.VerifierKey:
    path = Path(text)
    if "+" not in text and path.exists():
        text = path.read_text(encoding="utf-8")
    return core.parse_vkey(text.strip())


def _read_policy(path: str) -> core.WitnessPolicy:
    try:
        return core.parse_policy(Path(path).read_bytes())
    except OSError as e:
        raise core.PolicyError(f"cannot read {path}: {e.strerror or e}") from None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="monitor.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="the ledger's base URL")
    p.add_argument("--vkey", required=True, help="pinned checkpoint verifier key, or a file holding it")
    p.add_argument("--archive", required=True, type=Path, help="directory of archived checkpoints")
    p.add_argument("--interval", type=float, default=60.0, help="seconds between polls (default 60)")
    p.add_argument("--timeout", type=float, default=10.0, help="HTTP timeout in seconds")
    p.add_argument("--policy", help="witness policy (c2sp.org/tlog-policy) you pinned: check cosignatures and "
                                    "compare each witness's latest cosigned checkpoint")
    p.add_argument("--require-quorum", action="store_true",
                   help="with --policy: a served checkpoint below the quorum is an alarm")
    p.add_argument("--once", action="store_true", help="poll once and exit")
    p.add_argument("--polls", type=int, help="poll this many times and exit")
    args = p.parse_args(argv)
    try:
        vkey = _read_vkey(args.vkey)
    except (core.LedgerError, OSError) as e:
        print(f"error: --vkey: {e}", file=sys.stderr)
        return 2
    policy = None
    if args.policy is not None:
        try:
            policy = _read_policy(args.policy)
            core.check_log_in_policy(vkey, policy)
        except core.LedgerError as e:
            print(f"error: --policy: {e}", file=sys.stderr)
            return 2
    elif args.require_quorum:
        print("error: --require-quorum goes with --policy", file=sys.stderr)
        return 2
    monitor = Monitor(args.url, vkey, args.archive, args.timeout, policy, args.require_quorum)
    polls = 1 if args.once else args.polls
    done = 0
    while True:
        try:
            signed, is_new = monitor.poll()
            cp = signed.checkpoint
            state = "new" if is_new else "unchanged"
            print(f"ok: checkpoint size {cp.size} root {cp.root.hex()} ({state})", flush=True)
            for line in monitor.reports:
                print(f"  {line}", flush=True)
        except Alarm as e:
            print(str(e), file=sys.stderr, flush=True)
            return 1
        except Unreachable as e:
            print(f"unreachable: {e}", file=sys.stderr, flush=True)
            if args.once:
                return 2
        done += 1
        if polls is not None and done >= polls:
            return 0
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
