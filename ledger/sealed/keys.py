"""The operator's two secrets: the sealed-store key and the pseudonym key.

* the **sealed key** (exactly 32 bytes) encrypts openings at rest (XSalsa20-Poly1305);
* the **pseudonym key** (at least 32 bytes) keys taxpayer pseudonyms (HMAC-SHA-256).

Losing either loses every lookup, so both are escrowed (``ledger.sealed.escrow``).
There are no defaults: keys come from two files, a key directory, or the environment
naming them, and a missing key is a SealedKeyError that says how to make one. Key
files hold standard base64 and are created with mode 0600; ``repr`` shows only key ids.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ledger.sealed.errors import SealedKeyError
from ledger.sealed.keyfile import read_secret, write_new_secret
from ledger.sealed.pseudonyms import check_pseudonym_key, pseudonym

SEALED_KEY_SIZE = 32  # nacl.secret.SecretBox.KEY_SIZE
SEALED_KEY_FILE = "sealed.key"
PSEUDONYM_KEY_FILE = "pseudonym.key"
ENV_SEALED_KEY_FILE = "LEDGER_SEALED_KEY_FILE"
ENV_PSEUDONYM_KEY_FILE = "LEDGER_PSEUDONYM_KEY_FILE"
ENV_KEY_DIR = "LEDGER_SEALED_KEY_DIR"
_KEY_ID_TAG = b"dl/key-id/v1\n"
_READER_TAG = b"dl/reader-pseudonym/v1\n"
_HANDLE_TAG = b"dl/handle/v1\n"


def key_id(purpose: str, key: bytes) -> str:
    """A short public identifier of a key (16 hex digits of a tagged SHA-256); reveals nothing of it."""
    return hashlib.sha256(_KEY_ID_TAG + purpose.encode("ascii") + b"\n" + key).hexdigest()[:16]


@dataclass(frozen=True, repr=False)
class SealedKeys:
    """The sealed-store key and the pseudonym key. Never printed: repr shows key ids only."""

    sealed_key: bytes = field(repr=False)
    pseudonym_key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.sealed_key, bytes) or len(self.sealed_key) != SEALED_KEY_SIZE:
            found = len(self.sealed_key) if isinstance(self.sealed_key, bytes) else type(self.sealed_key).__name__
            raise SealedKeyError(f"the sealed key must be exactly {SEALED_KEY_SIZE} bytes, found {found}")
        check_pseudonym_key(self.pseudonym_key)
        if hmac.compare_digest(self.sealed_key, self.pseudonym_key):
            raise SealedKeyError("the sealed key and the pseudonym key must be different keys")

    def __repr__(self) -> str:
        return f"SealedKeys(sealed_key_id={self.sealed_key_id!r}, pseudonym_key_id={self.pseudonym_key_id!r})"

    __str__ = __repr__

    @property
    def sealed_key_id(self) -> str:
        """Public id of the sealed key (to check which key a database or an escrow holds)."""
        return key_id("sealed", self.sealed_key)

    @property
    def pseudonym_key_id(self) -> str:
        """Public id of the pseudonym key."""
        return key_id("pseudonym", self.pseudonym_key)

    def pseudonym(self, tin: str) -> str:
        """The taxpayer pseudonym of ``tin`` under this pseudonym key."""
        return pseudonym(tin, self.pseudonym_key)

    def reader_pseudonym(self, reader: str, taxpayer: str) -> str:
        """A pseudonym as one reader is shown it (docs/API.md, "Pseudonyms"): lowercase hex of
        HMAC-SHA-256(K, reader || LF || pseudonym), K = HMAC-SHA-256(sealed key, "dl/reader-pseudonym/v1" LF).

        The same taxpayer is the same value in all of one reader's downloads and unrelated values in
        two readers'; and it is keyed by the sealed key, so the pseudonym key alone (which turns TINs
        into pseudonyms) cannot turn a download back into TINs."""
        key = hmac.digest(self.sealed_key, _READER_TAG, "sha256")
        return hmac.digest(key, reader.encode("utf-8") + b"\n" + taxpayer.encode("ascii"), "sha256").hex()

    def handle_key(self, context: str) -> bytes:
        """A 32-byte key for sealing a value handed to a browser within ``context`` (a session id), so that
        only this service, in that context, opens it again."""
        return hmac.digest(self.sealed_key, _HANDLE_TAG + context.encode("utf-8"), "sha256")

    @classmethod
    def random(cls) -> SealedKeys:
        """Two fresh 32-byte random keys, in memory only (see :meth:`generate` to keep them)."""
        return cls(secrets.token_bytes(SEALED_KEY_SIZE), secrets.token_bytes(SEALED_KEY_SIZE))

    @classmethod
    def generate(cls, key_dir: Path) -> SealedKeys:
        """Create two fresh keys and write them to ``key_dir`` (mode 0600); refuses to overwrite."""
        keys = cls.random()
        keys.save(key_dir)
        return keys

    def save(self, key_dir: Path) -> None:
        """Write ``sealed.key`` and ``pseudonym.key`` (base64, mode 0600) into ``key_dir``.

        Refuses if either file exists: overwriting a key would make every stored
        opening or pseudonym under it unreachable.
        """
        key_dir = Path(key_dir)
        targets = {key_dir / SEALED_KEY_FILE: self.sealed_key, key_dir / PSEUDONYM_KEY_FILE: self.pseudonym_key}
        existing = [str(p) for p in targets if p.exists()]
        if existing:
            raise SealedKeyError(f"refusing to overwrite existing key files: {', '.join(existing)}")
        key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        for path, key in targets.items():
            write_new_secret(path, key, SealedKeyError)

    @classmethod
    def from_files(cls, sealed_key_file: Path, pseudonym_key_file: Path) -> SealedKeys:
        """Load the two keys from base64 files."""
        return cls(read_secret(Path(sealed_key_file), "the sealed key", SealedKeyError),
                   read_secret(Path(pseudonym_key_file), "the pseudonym key", SealedKeyError))

    @classmethod
    def from_dir(cls, key_dir: Path) -> SealedKeys:
        """Load ``sealed.key`` and ``pseudonym.key`` from ``key_dir``."""
        key_dir = Path(key_dir)
        return cls.from_files(key_dir / SEALED_KEY_FILE, key_dir / PSEUDONYM_KEY_FILE)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SealedKeys:
        """Load from LEDGER_SEALED_KEY_FILE + LEDGER_PSEUDONYM_KEY_FILE, else LEDGER_SEALED_KEY_DIR.

        There is no default location: with none of them set this raises SealedKeyError.
        """
        env = os.environ if environ is None else environ
        sealed_file = env.get(ENV_SEALED_KEY_FILE)
        pseudonym_file = env.get(ENV_PSEUDONYM_KEY_FILE)
        if sealed_file or pseudonym_file:
            if not (sealed_file and pseudonym_file):
                missing = ENV_PSEUDONYM_KEY_FILE if sealed_file else ENV_SEALED_KEY_FILE
                raise SealedKeyError(
                    f"{ENV_SEALED_KEY_FILE} and {ENV_PSEUDONYM_KEY_FILE} go together: {missing} is not set"
                )
            return cls.from_files(Path(sealed_file), Path(pseudonym_file))
        key_dir = env.get(ENV_KEY_DIR)
        if key_dir:
            return cls.from_dir(Path(key_dir))
        raise SealedKeyError(
            f"no sealed-store keys configured: set {ENV_SEALED_KEY_FILE} and {ENV_PSEUDONYM_KEY_FILE}, "
            f"or {ENV_KEY_DIR} (a directory holding {SEALED_KEY_FILE} and {PSEUDONYM_KEY_FILE}, "
            "made once with `disclosure-ledger sealed-keys new --out DIR` and escrowed)"
        )


