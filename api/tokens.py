"""API tokens: random secrets bound to a principal and a role, stored hashed, expiring, revocable.

A token reads ``dlt_<id>_<secret>``: ``id`` is 16 hex digits (the row's key, public), ``secret``
32 random bytes in URL-safe base64. Only SHA-256(secret) is stored, in the table ``api_tokens``
of the ledger's database (not in the log). Tokens are made by an operator on the command line
(``disclosure-ledger api-token create``); the secret is shown once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from ledger.core.errors import LedgerError
from ledger.core.times import format_time, parse_time, utc_now
from ledger.sealed.store import sealed_database

ROLES = ("oversight", "court", "operator")
TABLE = "api_tokens"
PREFIX = "dlt_"
_TOKEN_RE = re.compile(r"dlt_([0-9a-f]{16})_([A-Za-z0-9_-]{43})\Z")
_PRINCIPAL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}\Z")


class TokenError(LedgerError):
    """A token that is missing, malformed, unknown, expired or revoked (the message says which, for the
    server's log; callers are told only that the token was not accepted). ``token_id``: the public id
    of a known token that failed (revoked, expired), else None."""

    def __init__(self, message: str, token_id: str | None = None) -> None:
        self.token_id = token_id
        super().__init__(message)


@dataclass(frozen=True)
class Principal:
    """Who a valid token speaks for."""

    token_id: str
    name: str
    role: str
    expires_at: str


@dataclass(frozen=True)
class TokenRow:
    token_id: str
    principal: str
    role: str
    created_at: str
    expires_at: str
    revoked_at: str | None


def _digest(secret: bytes) -> str:
    return hashlib.sha256(secret).hexdigest()


class TokenStore:
    """The ``api_tokens`` table, through SQLAlchemy, in the ledger's database."""

    def __init__(self, db_url: str, *, create_tables: bool = True) -> None:
        database = sealed_database(db_url)
        is_sqlite = database.url.get_backend_name() == "sqlite"
        if is_sqlite and database.url.database:
            Path(database.url.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(database.url, hide_parameters=True, pool_pre_ping=not is_sqlite,
                                       connect_args={"timeout": 30} if is_sqlite else {})
        metadata = sa.MetaData(schema=database.schema)
        self.table = sa.Table(
            TABLE, metadata,
            sa.Column("token_id", sa.Text, primary_key=True),
            sa.Column("secret_sha256", sa.Text, nullable=False),
            sa.Column("principal", sa.Text, nullable=False),
            sa.Column("role", sa.Text, nullable=False),
            sa.Column("created_at", sa.Text, nullable=False),
            sa.Column("expires_at", sa.Text, nullable=False),
            sa.Column("revoked_at", sa.Text, nullable=True),
        )
        if create_tables:
            try:
                with self.engine.begin() as conn:
                    if database.schema is not None and not sa.inspect(conn).has_schema(database.schema):
                        conn.execute(sa.schema.CreateSchema(database.schema, if_not_exists=True))
                    metadata.create_all(conn)
            except SQLAlchemyError as e:
                self.engine.dispose()
                raise TokenError(f"token table: database error {type(e).__name__}") from None

    def close(self) -> None:
        self.engine.dispose()

    def create(self, principal: str, role: str, ttl: timedelta) -> tuple[str, TokenRow]:
        """A new token; returns the token string (shown once) and its row."""
        if role not in ROLES:
            raise TokenError(f"role must be one of {', '.join(ROLES)}, found {role!r}")
        if not _PRINCIPAL_RE.match(principal):
            raise TokenError("principal must be 1-128 characters of [A-Za-z0-9._:/@-]")
        if ttl <= timedelta(0) or ttl > timedelta(days=366):
            raise TokenError("a token lives more than 0 seconds and at most 366 days")
        token_id = secrets.token_hex(8)
        secret = secrets.token_bytes(32)
        now = utc_now()
        row = TokenRow(token_id, principal, role, format_time(now), format_time(now + ttl), None)
        with self.engine.begin() as conn:
            conn.execute(self.table.insert().values(
                token_id=token_id, secret_sha256=_digest(secret), principal=principal, role=role,
                created_at=row.created_at, expires_at=row.expires_at, revoked_at=None))
        text = PREFIX + token_id + "_" + base64.urlsafe_b64encode(secret).decode().rstrip("=")
        return text, row

    def revoke(self, token_id: str) -> bool:
        """Revoke a token by id; False if there is no such unrevoked token."""
        with self.engine.begin() as conn:
            done = conn.execute(self.table.update().where(
                self.table.c.token_id == token_id, self.table.c.revoked_at.is_(None)
            ).values(revoked_at=format_time(utc_now())))
        return bool(done.rowcount)

    def list(self) -> list[TokenRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(
                self.table.c.token_id, self.table.c.principal, self.table.c.role, self.table.c.created_at,
                self.table.c.expires_at, self.table.c.revoked_at).order_by(self.table.c.created_at))
            return [TokenRow(*r) for r in rows]

    def known_id(self, token: str) -> str | None:
        """The token id a well-formed ``token`` names, if a token with that id exists (its secret is
        not checked: this is for throttling sign-ins per token id)."""
        match = _TOKEN_RE.match(token)
        if not match:
            return None
        c = self.table.c
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(c.token_id).where(c.token_id == match.group(1))).first()
        return match.group(1) if found is not None else None

    def authenticate(self, token: str) -> Principal:
        """The principal of a valid token, else TokenError (never says more than which check failed)."""
        match = _TOKEN_RE.match(token)
        if not match:
            raise TokenError("malformed token")
        token_id, secret_text = match.groups()
        try:
            secret = base64.urlsafe_b64decode(secret_text + "=")
        except (binascii.Error, ValueError):
            raise TokenError("malformed token") from None
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(self.table).where(self.table.c.token_id == token_id)).first()
        if row is None or not hmac.compare_digest(row.secret_sha256, _digest(secret)):
            raise TokenError("unknown token")
        if row.revoked_at is not None:
            raise TokenError("revoked token", row.token_id)
        if parse_time(row.expires_at) <= utc_now():
            raise TokenError("expired token", row.token_id)
        return Principal(row.token_id, row.principal, row.role, row.expires_at)
