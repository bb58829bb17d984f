"""Assigning index, prev and recorded_at inside the appending transaction.

``ChainWriter.append`` runs inside the store's appending transaction (after it has taken
the log's write lock: SQLite's write lock, PostgreSQL's table lock), so
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

from ledger.core.entry import encode_entry, parse_entry
from ledger.core.errors import EntryError, LedgerError, SignatureError, TrustError
from ledger.core.keys import VerifierKey
from ledger.core.merkle import Frontier
from ledger.core.statement import Statement, parse_statement
from ledger.core.times import format_time, utc_now
from ledger.core.trust import TRUST_TYPES, TrustState
from ledger.domain.refusals import AppendRefused, RuleRefusal
from ledger.store.errors import Conflict
from ledger.store.schema import ENTRY_COLUMNS
from ledger.store.tree import read_nodes

RuleCheck = Callable[[Statement, int, TrustState, "Db"], list[str]]


class Rules(Protocol):
    """A rules engine: replays the statement types it cares about, checks new ones in the transaction.

    ``state`` is what the replay built (the domain's view of requests, reviews and releases; None for
    engines that keep none); ``refers_to`` names the record a refused statement was about, for its
    `blocked` entry (None when there is none)."""

    types: frozenset[str]

    @property
    def state(self) -> Any: ...
    def reset(self) -> None: ...
    def apply(self, stmt: Statement, index: int, trust: TrustState) -> None: ...
    def check_schema(self, stmt: Statement) -> None: ...
    def check(self, stmt: Statement, index: int, trust: TrustState) -> list[tuple[str, str]]: ...
    def refers_to(self, stmt: Statement) -> str | None: ...


class FunctionRules:
    """Adapts a plain function (stmt, index, trust, db) -> [rule ids] to the Rules protocol (for tests)."""

    types: frozenset[str] = frozenset()
    state: Any = None

    def __init__(self, fn: RuleCheck) -> None:
        self.fn = fn
        self.db: Db | None = None

    def refers_to(self, stmt: Statement) -> str | None:
        return None

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
    """What one appending transaction stores: statements parsed once, with what was checked outside it."""

    statements: list[Statement]
    # The keys each statement's signatures were checked against outside the transaction (None: not
    # checked); the transaction re-checks only when the keys it finds valid at the index differ.
    verified: list[list[VerifierKey] | None] = field(default_factory=list)
    refusing: dict[str, bytes] = field(default_factory=dict)  # blocked: refused id -> its hash
    # Taxpayer pseudonyms computed at ingest, by statement id: (line, pseudonym) rows written to
    # dl_pseudonyms in the same transaction as the entry (so a reader never sees one without the other).
    pseudonyms: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    # The ids of the statements whose caller ran the rules' own schema check (the disclosure
    # service, before sealing their openings): the transaction does not run it a second time.
    schema_checked: set[str] = field(default_factory=set)


class ChainWriter:
    """Per-process state of the chain (trust state and right edge of the tree), re-checked per transaction."""

    def __init__(self, rules: Rules | RuleCheck | None = None) -> None:
        if rules is not None and not hasattr(rules, "check_schema"):
            rules = FunctionRules(rules)
        self.rules: Rules | None = rules  # type: ignore[assignment]
        self.min_size = 0  # size of the last signed checkpoint: appends to a shorter log are refused
        self._lock = threading.Lock()
        self._trust = TrustState()
        self._frontier = Frontier()
        self._last_leaf: bytes | None = None
        self._last_recorded_at: str | None = None

    def forget(self) -> None:
        """Drop the caches (trust state, rules' state, tree edge): the next transaction rebuilds them."""
        self._frontier = Frontier()
        self._trust = TrustState()
        self._last_leaf = None
        if self.rules is not None:
            self.rules.reset()

    # ---- cache refresh -----------------------------------------------------
    def _head(self, db: Db, ids: Sequence[str] = ()) -> tuple[tuple[Any, ...] | None, int, int]:
        """The last entry (idx, leaf_hash, recorded_at), how many of ``ids`` were refused and how many
        are stored: one query."""
        refused = stored = "0"
        if ids:
            marks = ",".join(["%s"] * len(ids))
            refused = f"(SELECT COUNT(*) FROM {db.t('dl_refused')} WHERE statement_id IN ({marks}))"
            stored = f"(SELECT COUNT(*) FROM {db.t('dl_entries')} WHERE statement_id IN ({marks}))"
        rows = db.all(
            f"SELECT {refused} AS refused, {stored} AS stored, h.idx, h.leaf_hash, h.recorded_at "
            "FROM (SELECT 1 AS one) o LEFT JOIN "
            f"(SELECT idx, leaf_hash, recorded_at FROM {db.t('dl_entries')} ORDER BY idx DESC LIMIT 1) h ON 1 = 1",
            [*ids, *ids],
        )
        count, found, idx, leaf, recorded_at = rows[0]
        return (None if idx is None else (int(idx), bytes(leaf), recorded_at)), int(count), int(found)

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
            if self.rules is not None:
                self.rules.reset()
            start = 0
        else:
            start = self._trust.size
        types = sorted(TRUST_TYPES | (self.rules.types if self.rules is not None else frozenset()))
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
                if self.rules is not None:
                    self.rules.apply(stmt, idx, self._trust)
            if len(rows) < SYNC_PAGE:
                break
            at = int(rows[-1][0]) + 1
        self._trust.size = size
        coords = Frontier.coordinates(size)
        nodes = read_nodes(db, coords)
        self._frontier = Frontier(size, [nodes[c] for c in coords])
        self._last_leaf = head[1] if head else None
        self._last_recorded_at = head[2] if head else None

    def synced(self, db: Db) -> None:
        """Bring the caches (trust state, rules' state, tree edge) to the head ``db`` sees."""
        with self._lock:
            self._sync(db, self._head(db)[0])

    def trust_snapshot(self) -> TrustState:
        """The trust state as of the last transaction this process saw (for pre-checks only)."""
        return self._trust

    # ---- the append ----------------------------------------------------------
    def append(self, db: Db, request: AppendRequest) -> list[Appended]:
        """Chain, check and store ``request.statements``; where each landed, or raise to roll the
        transaction back."""
        with self._lock:
            try:
                return self._append(db, request)
            except BaseException:
                self.forget()  # the transaction rolls back: forget what this attempt did to the caches
                raise

    def _append(self, db: Db, request: AppendRequest) -> list[Appended]:
        stmts = request.statements
        ids = [s.id for s in stmts]
        if len(set(ids)) != len(ids):
            raise AppendRefused("a statement id appears twice in one batch", "ledger.duplicate_id")
        # Ids already used are settled before any rule looks at the statements (dl_entries'
        # UNIQUE(statement_id) would refuse them too, but only after the rules ran).
        head, refused, stored = self._head(db, ids)
        if refused:
            raise AppendRefused("the statement id was refused by a rule before", "ledger.refused_id")
        if stored:
            raise Conflict("a statement id of the append is already stored")
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
        results: list[Appended] = []
        on_node = lambda level, pos, h: completed.append(h) if level else None  # noqa: E731
        for position, stmt in enumerate(stmts):
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
                (index, prev, entry.leaf_hash, now, stmt.id, stmt.type, b"".join(completed), entry.data)
            )
            if stmt.type == "blocked":
                refused_id = stmt.body.get("statement_id")
                if isinstance(refused_id, str) and refused_id in request.refusing:
                    refused_rows.append((refused_id, index, request.refusing[refused_id]))
            pseudonym_rows.extend((index, line, p) for line, p in request.pseudonyms.get(stmt.id, ()))
            self._last_leaf = entry.leaf_hash
            self._last_recorded_at = now
            results.append(Appended(index, entry.leaf_hash, stmt.id, now))
        db.many(f"INSERT INTO {db.t('dl_entries')} ({ENTRY_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)", entry_rows)
        db.many(f"INSERT INTO {db.t('dl_refused')} VALUES (%s,%s,%s)", refused_rows)
        if pseudonym_rows:
            db.many(f"INSERT INTO {db.t('dl_pseudonyms')} VALUES (%s,%s,%s)", pseudonym_rows)
        return results

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
        rules = self.rules
        if rules is not None and stmt.type != "blocked":
            try:
                if stmt.id not in request.schema_checked:
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
