"""A local keyring of principals' private keys (one 0600 file per key name).

It belongs to the CLI user (an administrator, a disclosure officer, a demo); the
service process never reads it: the service holds no principal's private key.
"""

from __future__ import annotations

from pathlib import Path

from ledger.core.errors import LedgerError
from ledger.core.keys import SignerKey, check_key_name, parse_signer_key
from ledger.core.trust import ADMIN_ROLE, TrustState
from ledger.store.service_keys import write_secret


class KeyringError(LedgerError):
    """A key that is missing from, or already in, the keyring."""


class Keyring:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _file(self, name: str) -> Path:
        check_key_name(name)
        return self.path / (name.replace("/", "__") + ".key")

    def get(self, name: str) -> SignerKey:
        try:
            return parse_signer_key(self._file(name).read_text())
        except FileNotFoundError:
            raise KeyringError(f"no key named {name} in keyring {self.path}") from None

    def has(self, name: str) -> bool:
        return self._file(name).exists()

    def put(self, key: SignerKey, *, replace: bool = False) -> None:
        f = self._file(key.name)
        if f.exists() and not replace:
            raise KeyringError(f"keyring {self.path} already holds a key named {key.name}")
        write_secret(f, key.to_string() + "\n")

    def new(self, name: str) -> SignerKey:
        key = SignerKey.generate(name)
        self.put(key)
        return key

    def administrator(self, trust: TrustState, name: str | None = None) -> SignerKey:
        """The key ``name``, or else the first key of this keyring that is a current administrator's
        in ``trust`` (the log's keys as they stand)."""
        if name:
            return self.get(name)
        for candidate in trust.keys:
            current = trust.current(candidate)
            if current and ADMIN_ROLE in current.roles and self.has(candidate):
                return self.get(candidate)
        raise KeyringError(f"no administrator key in keyring {self.path}; pass --admin NAME")

    def names(self) -> list[str]:
        if not self.path.exists():
            return []
        return sorted(p.stem.replace("__", "/") for p in self.path.glob("*.key"))
