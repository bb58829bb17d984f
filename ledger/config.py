"""Settings, read once at the composition root. No secret has a default."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from ledger.core.errors import LedgerError

DEFAULT_VAR = Path("var")
PRIVATE_UMASK = 0o077  # files 0600, directories 0700


def private_files() -> int:
    """Make every file this process (and its children) creates from now on readable and writable by
    its owner only: the SQLite database with its -wal and -shm files, backups, exports, bundles, keys,
    sheets. Called first by the `disclosure-ledger` command, the service's workers and the demo.
    Returns the previous umask."""
    return os.umask(PRIVATE_UMASK)


def tighten(path: Path) -> bool:
    """Take group and other permissions off an existing file (one made before ``private_files`` was
    in force); True if it had any."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return False
    if not mode & 0o077:
        return False
    path.chmod(mode & 0o700)
    return True


class ConfigError(LedgerError):
    """Settings that cannot work."""


@dataclass(frozen=True)
class Settings:
    """Where the ledger keeps its data and the service's own keys."""

    db_url: str
    key_dir: Path
    checkpoint_path: Path
    create_tables: bool = True
    checkpoint_interval: float = 1.0
    # A witness policy (c2sp.org/tlog-policy): checkpoints are published only once a quorum of its
    # witnesses cosigned them. None: the ledger publishes its own signature alone ("unwitnessed").
    witness_policy: Path | None = None
    witness_timeout: float = 5.0  # seconds one witness gets to answer one add-checkpoint

    @classmethod
    def from_env(cls, db_url: str | None = None, var: Path | None = None) -> Settings:
        base = var or Path(os.environ.get("LEDGER_VAR", DEFAULT_VAR))
        url = db_url or os.environ.get("LEDGER_DB_URL") or f"sqlite:///{base / 'ledger.sqlite3'}"
        key_dir = Path(os.environ.get("LEDGER_KEY_DIR", base / "service-keys"))
        checkpoint = Path(os.environ.get("LEDGER_CHECKPOINT_FILE", key_dir / "last-checkpoint.txt"))
        policy = os.environ.get("LEDGER_WITNESS_POLICY") or None
        try:
            timeout = float(os.environ.get("LEDGER_WITNESS_TIMEOUT", 5.0))
        except ValueError:
            raise ConfigError("LEDGER_WITNESS_TIMEOUT must be a number of seconds") from None
        if not 0 < timeout <= 300:
            raise ConfigError("LEDGER_WITNESS_TIMEOUT must be between 0 and 300 seconds")
        create = os.environ.get("LEDGER_CREATE_TABLE", "y").strip().lower()
        if create not in ("y", "yes", "n", "no"):
            raise ConfigError("LEDGER_CREATE_TABLE must be y or n")
        return cls(url, key_dir, checkpoint, create_tables=create in ("y", "yes"),
                   witness_policy=Path(policy) if policy else None, witness_timeout=timeout)

    def eventsourcing_env(self) -> dict[str, str]:
        """The environment of eventsourcing's infrastructure factory for this database URL: the stock
        datastore (connection pool, lock timeouts) the store runs its transactions on."""
        parsed = urlparse(self.db_url)
        common = {"CREATE_TABLE": "y" if self.create_tables else "n"}
        if parsed.scheme == "sqlite":
            path = unquote(parsed.path)
            if self.db_url.startswith("sqlite:////"):
                path = "/" + path.lstrip("/")
            elif self.db_url.startswith("sqlite:///"):
                path = path[1:]
            if not path:
                raise ConfigError("sqlite URL needs a file path: sqlite:///var/ledger.sqlite3")
            return {
                **common,
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": path,
                "SQLITE_LOCK_TIMEOUT": "30",
            }
        if parsed.scheme in ("postgresql", "postgres"):
            query = parse_qs(parsed.query)
            env = {
                **common,
                "PERSISTENCE_MODULE": "eventsourcing.postgres",
                "POSTGRES_DBNAME": parsed.path.lstrip("/") or "postgres",
                "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
                "POSTGRES_PORT": str(parsed.port or 5432),
                "POSTGRES_USER": unquote(parsed.username or "postgres"),
                "POSTGRES_PASSWORD": unquote(parsed.password or ""),
                "POSTGRES_SCHEMA": query.get("schema", ["public"])[0],
                "POSTGRES_LOCK_TIMEOUT": "30",
                "POSTGRES_POOL_SIZE": "2",
            }
            return env
        raise ConfigError(f"unsupported database URL scheme {parsed.scheme!r}: use sqlite:/// or postgresql://")

    @property
    def is_postgres(self) -> bool:
        return self.db_url.startswith(("postgresql:", "postgres:"))

    def redacted_url(self) -> str:
        """The URL without its password, for logs."""
        parsed = urlparse(self.db_url)
        if parsed.password:
            return self.db_url.replace(f":{parsed.password}@", ":***@")
        return self.db_url
