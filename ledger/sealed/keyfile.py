"""Secret key files: one base64 line, created once (mode 0600, never replaced), read back.

Shared by the sealed store's keys and the matcher's store key. Errors are raised as the caller's
own error class and never quote the file's content.
"""

from __future__ import annotations

import os
from pathlib import Path

from ledger.core.b64 import b64decode, b64encode
from ledger.core.errors import FormatError


def read_secret(path: Path, what: str, error: type[Exception]) -> bytes:
    """The bytes of the base64 key file ``path``; ``what`` names the key in messages ("the sealed key")."""
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise error(f"{what} file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise error(f"{what} file {path} cannot be read ({type(e).__name__})") from None
    try:
        return b64decode(text.strip())
    except FormatError:
        # Not repeating the decoder's message: it quotes the file's content.
        raise error(f"{what} file {path} does not hold standard base64") from None


def write_new_secret(path: Path, key: bytes, error: type[Exception]) -> None:
    """Write ``key`` to a new file ``path`` (mode 0600, fsynced); an existing file is never replaced."""
    try:
        # O_EXCL: never replace a key file, even if one appeared since the caller looked.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise error(f"refusing to overwrite existing key file {path}") from None
    except OSError as e:
        raise error(f"cannot create {path}: {e.strerror}") from None
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(b64encode(key) + "\n")
        f.flush()
        os.fsync(f.fileno())
