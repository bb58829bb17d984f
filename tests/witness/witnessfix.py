"""A log to witness (in memory: leaves, checkpoints signed by its key, proofs) and witnesses on real
SQLite and PostgreSQL databases."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from ledger.core.checkpoint import Checkpoint, sign_checkpoint
from ledger.core.cosignature import CosignerSigner
from ledger.core.keys import SignerKey
from ledger.core.merkle import leaf_hash, root_from_leaf_hashes
from ledger.core.proofs import consistency_path
from ledger.core.witness_protocol import AddCheckpoint
from ledger.witness.service import Witness
from ledger.witness.state import WitnessStore

ORIGIN = "ledger.example.gov/disclosures"
LOG_KEY = SignerKey(ORIGIN, hashlib.sha256(b"log key").digest())
WITNESS_KEY = CosignerSigner("witness.tigta.example/w1", hashlib.sha256(b"witness key").digest())


@dataclass
class Log:
    """A log's leaves; ``branch`` names a fork, whose leaves differ from those of other branches after ``at``."""

    key: SignerKey = LOG_KEY
    branch: str = "main"
    leaves: list[bytes] = field(default_factory=list)

    def grow(self, n: int) -> Log:
        for _ in range(n):
            self.leaves.append(leaf_hash(f"{self.branch}/{len(self.leaves)}".encode()))
        return self

    def fork(self, at: int, name: str) -> Log:
        """Another log with the same first ``at`` leaves and its own after them (a split view)."""
        return Log(self.key, name, list(self.leaves[:at]))

    def root(self, size: int | None = None) -> bytes:
        return root_from_leaf_hashes(self.leaves[: len(self.leaves) if size is None else size])

    def checkpoint(self, size: int | None = None, keys: list[SignerKey] | None = None) -> str:
        size = len(self.leaves) if size is None else size
        return sign_checkpoint(Checkpoint(self.key.name, size, self.root(size)), keys or [self.key]).encode()

    def proof(self, old: int, new: int | None = None) -> list[bytes]:
        new = len(self.leaves) if new is None else new
        return consistency_path(old, new, lambda a, b: root_from_leaf_hashes(self.leaves[a:b]))

    def request(self, old: int, size: int | None = None) -> bytes:
        size = len(self.leaves) if size is None else size
        proof = self.proof(old, size) if 0 < old < size else []
        return AddCheckpoint(old, tuple(proof), self.checkpoint(size)).encode()


def make_witness(url: str, *, clock: float | None = None, log: Log | None = None) -> Witness:
    store = WitnessStore(url)
    store.create_tables()
    store.add_log_key(ORIGIN, str((log.key if log else LOG_KEY).verifier))
    return Witness(WITNESS_KEY, store, (lambda: clock) if clock is not None else __import__("time").time)


class Served:
    """``python -m ledger.witness serve`` in a process of its own, on a free port."""

    def __init__(self, folder: str, env: dict[str, str] | None = None) -> None:
        import os
        import subprocess
        import sys

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ledger.witness", "serve", "--dir", folder, "--port", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
        assert self.proc.stderr is not None
        self.url = ""
        for _ in range(50):
            line = self.proc.stderr.readline()
            if "listening on " in line:
                self.url = line.split("listening on ")[1].strip()
                break
            if not line and self.proc.poll() is not None:
                break
        if not self.url:
            self.stop()
            raise RuntimeError(f"the witness did not start (exit {self.proc.returncode})")
        threading_drain(self.proc.stderr)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except Exception:
                self.proc.kill()
                self.proc.wait(10)


def threading_drain(stream: object) -> None:
    """Read a child's stderr in the background so that it never blocks on a full pipe."""
    import threading

    def drain() -> None:
        for _ in iter(stream.readline, ""):  # type: ignore[attr-defined]
            pass

    threading.Thread(target=drain, daemon=True).start()


def init_witness(folder: str, db: str | None = None, log_vkey: str | None = None, origin: str = ORIGIN) -> str:
    """``witness init`` and ``add-log`` through the real command; returns the witness's vkey."""
    from ledger.witness.cli import main

    args = ["init", "--name", WITNESS_KEY.name, "--dir", folder] + (["--db", db] if db else [])
    assert main(args) == 0
    assert main(["add-log", "--dir", folder, "--origin", origin, "--vkey", log_vkey or str(LOG_KEY.verifier)]) == 0
    from pathlib import Path

    from ledger.witness.settings import WitnessSettings

    return WitnessSettings.load(Path(folder)).vkey
