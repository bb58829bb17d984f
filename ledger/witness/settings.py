"""Where a witness keeps its things: DIR/witness.json (name, public key, database URL) and
DIR/witness.key (its private key, mode 0600). The settings name the key file, never the key.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ledger.core.cosignature import CosignerSigner, parse_cosigner_signer, parse_cosigner_vkey
from ledger.core.errors import LedgerError

CONFIG_FILE = "witness.json"
KEY_FILE = "witness.key"
RETIRED_DIR = "retired-keys"
DEFAULT_DIR_ENV = "LEDGER_WITNESS_DIR"


class WitnessConfigError(LedgerError):
    """A witness folder that is missing, incomplete or unsafe."""


@dataclass(frozen=True)
class WitnessSettings:
    """A witness's settings: its folder, name, public key and database. No secret."""

    dir: Path
    name: str
    vkey: str
    db_url: str

    @property
    def key_file(self) -> Path:
        return self.dir / KEY_FILE

    @classmethod
    def load(cls, folder: Path) -> WitnessSettings:
        path = folder / CONFIG_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            settings = cls(folder, str(data["name"]), str(data["vkey"]), str(data["db"]))
        except FileNotFoundError:
            raise WitnessConfigError(f"no witness in {folder}: run 'disclosure-ledger witness init --dir {folder}'"
                                     ) from None
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise WitnessConfigError(f"{path} is not a witness's settings file: {e}") from None
        parse_cosigner_vkey(settings.vkey)
        return settings

    def save(self) -> None:
        data = {"name": self.name, "vkey": self.vkey, "db": self.db_url}
        _write_new(self.dir / CONFIG_FILE, json.dumps(data, indent=2) + "\n", 0o644, replace=True)

    def signer(self) -> CosignerSigner:
        """Read the private key; refuse a key file others can read, or one that is not this witness's key."""
        path = self.key_file
        try:
            mode = path.stat().st_mode
            text = path.read_text(encoding="ascii")
        except OSError as e:
            raise WitnessConfigError(f"cannot read the witness key {path}: {e.strerror or e}") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise WitnessConfigError(f"{path} is readable by others (mode {stat.S_IMODE(mode):o}): chmod 600 it")
        try:
            signer = parse_cosigner_signer(text)
        except (LedgerError, UnicodeDecodeError) as e:
            raise WitnessConfigError(f"{path} does not hold a witness key: {e}") from None
        if str(signer.verifier) != self.vkey:
            raise WitnessConfigError(f"{path} holds the key {signer.verifier}, the settings name {self.vkey}")
        return signer


def write_key(folder: Path, signer: CosignerSigner, *, replace: bool = False) -> None:
    _write_new(folder / KEY_FILE, signer.to_string() + "\n", 0o600, replace=replace)


def _write_new(path: Path, text: str, mode: int, *, replace: bool) -> None:
    """Write a file with its mode set from the start; atomically replace it only when asked."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if the file exists: never overwrite a key by accident
            os.unlink(tmp)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise
