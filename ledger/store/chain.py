"""Assigning index, prev and recorded_at inside the appending transaction.

``ChainWriter.append`` runs inside the event store's insert transaction (after the
library has taken its write lock: SQLite's write lock, PostgreSQL's table lock), so
every check that depends on the log's state — key valid at this index, role allowed
by the policy, duplicate id, rules such as legal holds — sees exactly the state the
entry lands on. Caches are keyed by (size, last leaf hash) and refreshed from the
database whenever another process has appended in between.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ledger.domain.refusals import AppendRefused, RuleRefusal
from ledger.entry import encode_entry, parse_entry
from ledger.errors import EntryError, LedgerError, SignatureError, TrustError
from ledger.keys import VerifierKey
from ledger.merkle import Frontier
from ledger.statement import Statement, parse_statement
from ledger.store.tree import read_nodes
from ledger.times import format_time, utc_now
from ledger.trust import TRUST_TYPES, TrustState

RuleCheck = Callable[[Statement, int, TrustState, "Db"], list[str]]


class Rules(Protocol):
    """A rules engine: replays the statement types it cares about, checks new ones in the transaction."""

    types: frozenset[str]

    def reset(self) -> None: ...
    def apply(self, stmt: Statement, index: int, trust: TrustState) -> None: ...
    def check_schema(self, stmt: Statement) -> None: ...
    def check(self, stmt: Statement, index: int, trust: TrustState) -> list[tuple[str, str]]: ...


class FunctionRules:
    """Adapts a plain function (stmt, index, trust, db) -> [rule ids] to the Rules protocol (for tests)."""

    types: frozenset[str] = frozenset()

    def __init__(self, fn: RuleCheck) -> None:
        self.fn = fn
        self.db: Db | None = None

    def reset(self) -> None:
        pass

    def apply(self, stmt: Statement, index: int, trust: TrustState) -> None:
        pass

    def check_schema(self, stmt: Statement) -> None:
        pass

    def check(self, stmt: Statement, index: int, trust: TrustState) -> list[tuple[str, str]]:
        assert self.db is not None
        return [(rule, rule) for rule in self.fn(stmt, index, trust, self.db)]


class Db(Protocol):
    """The few operations the chain needs, over either backend's cursor."""

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...
    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
    def t(self, name: str) -> str: ...
    def replaying(self) -> None: ...


REPLAY_ROWS = 256  # a sync this far behind is a replay: long stretches of Python between statements
SYNC_PAGE = 512  # entries read per query while syncing (chunk entries are ~33 KB: ~17 MB a page)


@dataclass(frozen=True)
class Appended:
    """Where a statement landed."""

    index: int
    leaf_hash: bytes
    statement_id: str
    recorded_at: str
    duplicate: bool = False


@dataclass
class AppendRequest:
    """Passed through ``Application.save(..., ledger=...)`` to the recorder; results come back in it."""

    statements: list[Statement]
    verified: list[list[VerifierKey] | None] = field(default_factory=list)
    refusing: dict[str, bytes] = field(default_factory=dict)  # blocked: refused id -> its hash
    results: list[Appended] = field(default_factory=list)
    # Taxpayer pseudonyms computed at ingest, by statement id: (line, pseudonym) rows written to
    # dl_pseudonyms in the same transaction as the entry (so a reader never sees one without the other).
    pseudonyms: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    # The caller ran the rules' own schema check (ledger.domain.schemas.check_body) on every
    # statement before sealing their openings: the transaction does not run it a second time.
    schema_checked: bool = False


class ChainWriter:
    """Per-process state of the chain (trust state and right edge of the tree), re-checked per transaction."""

    def __init__(self, rules: Rules | RuleCheck | None = None) -> None:
        self.rules = rules
        self.min_size = 0  # size of the last signed checkpoint: appends to a shorter log are refused
        self._lock = threading.Lock()
        self._trust = TrustState()
        self._frontier = Frontier()
        self._last_leaf: bytes | None = None
        self._last_recorded_at: str | None = None

    @property
    def rules(self) -> Rules | None:
        return self._rules

    @rules.setter
    def rules(self, rules: Rules | RuleCheck | None) -> None:
        if rules is not None and not hasattr(rules, "check_schema"):
            rules = FunctionRules(rules)
        self._rules: Rules | None = rules  # type: ignore[assignment]
        self._trust = TrustState()
        self._frontier = Frontier()
        self._last_leaf = None

    # ---- cache refresh -----------------------------------------------------
    def _head(self, db: Db, ids: Sequence[str] = ()) -> tuple[tuple[Any, ...] | None, int]:
        """The last entry (idx, leaf_hash, recorded_at) and how many of ``ids`` were refused: one query."""
        refused = "0"
        if ids:
            refused = (f"(SELECT COUNT(*) FROM {db.t('dl_refused')} WHERE statement_id IN ("
                       + ",".join(["%s"] * len(ids)) + "))")
        rows = db.all(
            f"SELECT {refused}, h.idx, h.leaf_hash, h.recorded_at FROM (SELECT 1 AS one) o LEFT JOIN "
            f"(SELECT idx, leaf_hash, recorded_at FROM {db.t('dl_entries')} ORDER BY idx DESC LIMIT 1) h ON 1 = 1",
            list(ids),
        )
        count, idx, leaf, recorded_at = rows[0]
        return (None if idx is None else (int(idx), bytes(leaf), recorded_at)), int(count)

    def _sync(self, db: Db, head: tuple[Any, ...] | None) -> None:
        """Bring the caches to ``head`` (the last entry as ``_head`` read it, None for an empty log)."""
        size = head[0] + 1 if head else 0
        if size == self._frontier.size and (head is None or head[1] == self._last_leaf):
            return
        cached_ok = False
        if 0 < self._frontier.size < size:
            row = db.all(
                f"SELECT leaf_hash FROM {db.t('dl_entries')} WHERE idx = %s", (self._frontier.size - 1,)
            )
            cached_ok = bool(row) and bytes(row[0][0]) == self._last_leaf
        if not cached_ok:
            self._trust = TrustState()
            if self._rules is not None:
                self._rules.reset()
            start = 0
        else:
            start = self._trust.size
        types = sorted(TRUST_TYPES | (self._rules.types if self._rules is not None else frozenset()))
        if size - start > REPLAY_ROWS:
            db.replaying()
        # A page at a time: a replay of a long log (a 1.3M-line bulk request is ~1 GB of chunk
        # entries) must not hold it all in memory; and no further than the head read above.
        query = (f"SELECT idx, entry FROM {db.t('dl_entries')} WHERE idx >= %s AND idx < %s AND stype IN ("
                 + ",".join(["%s"] * len(types)) + ") ORDER BY idx LIMIT %s")
        at = start
        while at < size:
            rows = db.all(query, (at, size, *types, SYNC_PAGE))
            for idx, data in rows:
                stmt = parse_statement(parse_entry(bytes(data)).statement)
                self._trust.size = idx  # entries of other types change no state
                self._trust.apply(stmt, idx)
                if self._rules is not None:
                    self._rules.apply(stmt, idx, self._trust)
            if len(rows) < SYNC_PAGE:
                break
            at = int(rows[-1][0]) + 1
        self._trust.size = size
        coords = Frontier.coordinates(size)
        nodes = read_nodes(db, coords)
        self._frontier = Frontier(size, [nodes[c] for c in coords])
        self._last_leaf = head[1] if head else None
        self._last_recorded_at = head[2] if head else None

    def trust_snapshot(self) -> TrustState:
        """The trust state as of the last transaction this process saw (for pre-checks only)."""
        return self._trust

    # ---- the append ----------------------------------------------------------
    def append(self, db: Db, request: AppendRequest, notification_ids: Sequence[int]) -> None:
        """Chain, check and store ``request.statements``; raise to roll the transaction back."""
        with self._lock:
            try:
                self._append(db, request, notification_ids)
            except BaseException:
                # The transaction rolls back: forget what this attempt did to the caches.
                self._frontier = Frontier()
                self._trust = TrustState()
                self._last_leaf = None
                if self._rules is not None:
                    self._rules.reset()
                raise

    def _append(self, db: Db, request: AppendRequest, notification_ids: Sequence[int]) -> None:
        stmts = request.statements
        if len(notification_ids) != len(stmts):
            raise AppendRefused(
                f"{len(notification_ids)} events for {len(stmts)} statements", "ledger.internal"
            )
        ids = [s.id for s in stmts]
        if len(set(ids)) != len(ids):
            raise AppendRefused("a statement id appears twice in one batch", "ledger.duplicate_id")
        # A duplicate id already fails the event store's primary key (its aggregate id is derived
        # from the statement id) and dl_entries' UNIQUE(statement_id); only refused ids need a look.
        head, refused = self._head(db, ids)
        if refused:
            raise AppendRefused("the statement id was refused by a rule before", "ledger.refused_id")
        self._sync(db, head)
        if self._frontier.size < self.min_size:
            raise AppendRefused(
                f"the log holds {self._frontier.size} entries but a checkpoint of {self.min_size} was signed "
                "(by this ledger, or cosigned by a witness): "
                "a restored older database? restore the missing entries first",
                "ledger.behind_checkpoint",
            )
        now = format_time(utc_now())
        if self._last_recorded_at is not None and now < self._last_recorded_at:
            now = self._last_recorded_at  # recorded_at never decreases, whatever the clock does
        entry_rows, refused_rows = [], []
        pseudonym_rows: list[tuple[int, int, str]] = []
        completed: list[bytes] = []
        on_node = lambda level, pos, h: completed.append(h) if level else None  # noqa: E731
        for position, (stmt, nid) in enumerate(zip(stmts, notification_ids, strict=True)):
            index = self._frontier.size
            self._admit(db, request, position, stmt, index, now)
            prev = self._last_leaf if self._last_leaf is not None else bytes(32)
            try:
                entry = encode_entry(index, prev.hex(), now, stmt.raw)
            except EntryError as e:  # escaping inside the entry can push a large statement over the limit
                raise AppendRefused(str(e), "statement.size", stmt.id) from None
            completed.clear()
            self._frontier.append(entry.leaf_hash, on_node)
            entry_rows.append(
                (index, prev, entry.leaf_hash, now, stmt.id, stmt.type, nid, b"".join(completed), entry.data)
            )
            if stmt.type == "blocked":
                refused_id = stmt.body.get("statement_id")
                if isinstance(refused_id, str) and refused_id in request.refusing:
                    refused_rows.append((refused_id, index, request.refusing[refused_id]))
            pseudonym_rows.extend((index, line, p) for line, p in request.pseudonyms.get(stmt.id, ()))
            self._last_leaf = entry.leaf_hash
            self._last_recorded_at = now
            request.results.append(Appended(index, entry.leaf_hash, stmt.id, now))
        db.many(f"INSERT INTO {db.t('dl_entries')} VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)", entry_rows)
        db.many(f"INSERT INTO {db.t('dl_refused')} VALUES (%s,%s,%s)", refused_rows)
        if pseudonym_rows:
            db.many(f"INSERT INTO {db.t('dl_pseudonyms')} VALUES (%s,%s,%s)", pseudonym_rows)

    def _admit(self, db: Db, request: AppendRequest, position: int, stmt: Statement, index: int, now: str) -> None:
        try:
            keys = self._trust.authorize(stmt, index, now)
            pre = request.verified[position] if position < len(request.verified) else None
            if pre is None or [(k.name, k.public_key) for k in pre] != [(k.name, k.public_key) for k in keys]:
                self._trust.check_signatures(stmt, keys)
        except (TrustError, SignatureError) as e:
            raise AppendRefused(str(e), getattr(e, "rule", "signature"), stmt.id) from None
        except LedgerError as e:
            raise AppendRefused(str(e), "statement.shape", stmt.id) from None
        rules = self._rules
        if rules is not None and stmt.type != "blocked":
            try:
                if not request.schema_checked:
                    rules.check_schema(stmt)
            except LedgerError as e:
                raise AppendRefused(str(e), "statement.schema", stmt.id) from None
            if isinstance(rules, FunctionRules):
                rules.db = db
            violations = rules.check(stmt, index, self._trust)
            if violations:
                rule_ids = list(dict.fromkeys(rule for rule, _ in violations))
                raise RuleRefusal(stmt.id, rule_ids, "; ".join(f"{r}: {m}" for r, m in violations))
        self._trust.apply(stmt, index)
        if rules is not None:
            rules.apply(stmt, index, self._trust)
