"""Three real witnesses on loopback (the witness's own ASGI app under uvicorn, each in a thread, its own
SQLite database), a 2-of-3 policy naming them, and a ledger that publishes through them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ledger.config import Settings
from ledger.core.cosignature import CosignerSigner
from ledger.witness.http import ThreadServer
from ledger.witness.service import Answer, Witness
from ledger.witness.state import WitnessStore

NAMES = ("tigta", "gao", "jct")


class ThreadWitness:
    """A witness served on a free loopback port; ``seen`` records (status, old size, size) of each answer.

    ``down`` makes it answer 503 to add-checkpoint (as a witness whose database is away does)."""

    def __init__(self, folder: Path, name: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.signer = CosignerSigner.generate(f"witness.{name}.example/w1")
        self.store = WitnessStore(f"sqlite:///{folder}/witness.sqlite3")
        self.store.create_tables()
        self.witness = Witness(self.signer, self.store)
        self.seen: list[tuple[int, int, int]] = []
        self.down = False
        real = self.witness.add_checkpoint

        def add_checkpoint(raw: bytes) -> Answer:
            if self.down:
                return Answer.text(503, "the witness cannot answer now")
            answer = real(raw)
            if answer.sizes:
                parts = answer.sizes.split()
                self.seen.append((answer.status, int(parts[1]), int(parts[3])))
            return answer

        self.witness.add_checkpoint = add_checkpoint  # type: ignore[method-assign]
        self.served = ThreadServer(self.witness)
        self.url = self.served.url

    @property
    def vkey(self) -> str:
        return str(self.signer.verifier)

    def add_log(self, origin: str, vkey: str) -> None:
        self.store.add_log_key(origin, vkey)

    def sizes(self, status: int = 200) -> list[int]:
        return [size for s, _old, size in self.seen if s == status]

    def stop(self) -> None:
        self.served.stop()
        self.store.close()


@dataclasses.dataclass
class Trio:
    witnesses: list[ThreadWitness]
    policy_path: Path

    def write_policy(self, log_vkeys: list[str], quorum: int = 2, urls: bool = True) -> Path:
        lines = [f"log {v}" for v in log_vkeys]
        for w in self.witnesses:
            lines.append(f"witness {w.name} {w.vkey}" + (f" {w.url}" if urls else ""))
        lines.append(f"group q {quorum} {' '.join(w.name for w in self.witnesses)}")
        lines.append("quorum q")
        self.policy_path.write_text("\n".join(lines) + "\n")
        return self.policy_path

    def add_log(self, origin: str, vkey: str) -> None:
        for w in self.witnesses:
            w.add_log(origin, vkey)

    def by_name(self, name: str) -> ThreadWitness:
        return next(w for w in self.witnesses if w.name == name)


@contextmanager
def trio(folder: Path) -> Iterator[Trio]:
    witnesses = [ThreadWitness(folder / n, n) for n in NAMES]
    try:
        yield Trio(witnesses, folder / "witnesses.policy")
    finally:
        for w in witnesses:
            w.stop()


def witnessed(settings: Settings, policy: Path, **more: Any) -> Settings:
    return dataclasses.replace(settings, witness_policy=policy, witness_timeout=5.0, **more)
