"""A per-token limit on taxpayer lookups, shared by the JSON API and the dashboard.

Each lookup reveals whether a TIN has a history, so an unlimited token could walk the TIN space
(and every lookup is itself an `inspection` entry in the log). The count is kept in the ledger's
database, next to ``api_tokens``, so that it holds across ``serve --workers N`` and restarts::

    api_rate_counts(token_id TEXT, bucket TEXT, period BIGINT, count INTEGER, PRIMARY KEY (token_id, bucket, period))

A fixed window: at most ``limit`` lookups per token in each ``window`` seconds (period =
unix time // window). One statement per lookup (an upsert that returns the new count), so two
workers never both let the last one through. A refused lookup counts too and records nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from api.tokens import TokenError, TokenStore

TABLE = "api_rate_counts"
TAXPAYER = "taxpayer_lookup"


class LookupLimit:
    """``take(token_id)``: None while the token is within its limit, else the seconds until it is again."""

    def __init__(self, tokens: TokenStore, limit: int, window: float, *, bucket: str = TAXPAYER,
                 create_tables: bool = True, clock: Callable[[], float] = time.time) -> None:
        self.engine, self.limit, self.window, self.bucket, self.clock = tokens.engine, limit, window, bucket, clock
        self._is_sqlite = self.engine.dialect.name == "sqlite"
        self.table = sa.Table(
            TABLE, sa.MetaData(schema=tokens.table.schema),
            sa.Column("token_id", sa.Text, primary_key=True),
            sa.Column("bucket", sa.Text, primary_key=True),
            sa.Column("period", sa.BigInteger, primary_key=True),
            sa.Column("count", sa.Integer, nullable=False),
        )
        if create_tables:
            try:
                with self.engine.begin() as conn:
                    self.table.create(conn, checkfirst=True)
            except SQLAlchemyError as e:
                raise TokenError(f"rate-limit table: database error {type(e).__name__}") from None

    def take(self, token_id: str) -> float | None:
        now = self.clock()
        period = int(now // self.window)
        t = self.table
        insert = (sqlite.insert if self._is_sqlite else postgresql.insert)(t)
        upsert = (insert.values(token_id=token_id, bucket=self.bucket, period=period, count=1)
                  .on_conflict_do_update(index_elements=["token_id", "bucket", "period"], set_={"count": t.c.count + 1})
                  .returning(t.c.count))
        with self.engine.begin() as conn:
            count = int(conn.execute(upsert).scalar_one())
            if count == 1:  # the token's first lookup in this period: forget its older ones
                conn.execute(sa.delete(t).where(t.c.token_id == token_id, t.c.bucket == self.bucket,
                                                t.c.period < period))
        if count <= self.limit:
            return None
        return max(1.0, (period + 1) * self.window - now)
