"""The service's own keys (docs/FORMAT.md § 4: the only private keys it holds).

``statement.key`` signs genesis and `blocked` entries; ``checkpoint.keys`` holds one
or more checkpoint keys (several during a rotation's overlap; the first is newest).
Files are created 0600 and never logged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ledger.core.keys import SignerKey, parse_signer_key
from ledger.store.errors import NotInitialised


def write_secret(path: Path, text: str) -> None:
    """Write a secret file atomically with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@dataclass(frozen=True)
class ServiceKeys:
    statement: SignerKey
    checkpoint: tuple[SignerKey, ...]

    @classmethod
    def load(cls, key_dir: Path) -> ServiceKeys:
        try:
            statement = parse_signer_key((key_dir / "statement.key").read_text())
            lines = (key_dir / "checkpoint.keys").read_text().split()
        except FileNotFoundError:
            raise NotInitialised(f"no service keys in {key_dir}: run `disclosure-ledger init` first") from None
        return cls(statement, tuple(parse_signer_key(line) for line in lines))

    @classmethod
    def generate(cls, origin: str) -> ServiceKeys:
        return cls(SignerKey.generate(origin + "/ledger"), (SignerKey.generate(origin),))

    def save(self, key_dir: Path) -> None:
        write_secret(key_dir / "statement.key", self.statement.to_string() + "\n")
        write_secret(key_dir / "checkpoint.keys", "".join(k.to_string() + "\n" for k in self.checkpoint))
