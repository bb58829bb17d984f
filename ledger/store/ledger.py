"""The ledger: append statements (one at a time by group commit, or in batches), sign checkpoints.

This is the one object the CLI, the API and the domain service talk to. Its tables and transactions
are ``ledger.store.db.Store``'s; its reads, proofs and export ``ledger.store.reading.LogReader``'s;
rotating its own keys is ``ledger.store.rotation``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.config import Settings, tighten
from ledger.core.errors import LedgerError
from ledger.core.keys import VerifierKey, parse_vkey
from ledger.core.note import verify_exactly
from ledger.core.statement import Statement, make_envelope, parse_statement, sign_statement
from ledger.core.trust import TrustState
from ledger.domain.refusals import AppendRefused, RuleRefusal
from ledger.store.chain import Appended, AppendRequest, RuleCheck, Rules
from ledger.store.checkpoints import CheckpointKeeper
from ledger.store.db import Store
from ledger.store.errors import Conflict, NotInitialised
from ledger.store.fsck import FsckReport, fsck
from ledger.store.published import LEASE_WAIT, PublishedCheckpoints
from ledger.store.publisher import Publisher
from ledger.store.reading import LogReader
from ledger.store.service_keys import ServiceKeys

# What an append returns, and what a rules engine is: part of the ledger's interface, so that callers
# import them from here and nothing outside the store imports the chain writer.
__all__ = ["Appended", "Ledger", "RuleCheck", "Rules"]

log = logging.getLogger("ledger.store")
GROUP_MAX = 256  # statements committed together at most by one group commit


@dataclass
class _Pending:
    """A statement waiting for a group commit, and its outcome."""

    stmt: Statement
    keys: list[VerifierKey] | None
    schema_checked: bool = False
    done: bool = False
    result: Appended | None = None
    error: BaseException | None = None

    def finish(self, result: Appended | None = None, error: BaseException | None = None) -> None:
        self.result, self.error, self.done = result, error, True


def _ensure_pg_schema(settings: Settings) -> None:
    env = settings.eventsourcing_env()
    if env["POSTGRES_SCHEMA"] == "public":
        return
    import psycopg

    with psycopg.connect(
        host=env["POSTGRES_HOST"], port=int(env["POSTGRES_PORT"]), dbname=env["POSTGRES_DBNAME"],
        user=env["POSTGRES_USER"], password=env["POSTGRES_PASSWORD"] or None, autocommit=True,
    ) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{env["POSTGRES_SCHEMA"]}"')


class Ledger(PublishedCheckpoints, LogReader):
    """A ledger over SQLite or PostgreSQL, as the settings say (reads, proofs and export: LogReader;
    checkpoints: PublishedCheckpoints)."""

    def __init__(self, settings: Settings, rules: Rules | RuleCheck | None = None) -> None:
        self.settings = settings
        env = settings.eventsourcing_env()
        if settings.is_postgres and settings.create_tables:
            _ensure_pg_schema(settings)
        elif not settings.is_postgres:
            Path(env["SQLITE_DBNAME"]).parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("", "-wal", "-shm"):  # a database made before files were private: private now
                if tighten(Path(env["SQLITE_DBNAME"] + suffix)):
                    log.warning("%s%s was readable by others: now 0600", Path(env["SQLITE_DBNAME"]).name, suffix)
        self.store = Store(settings, rules)
        self._keys: ServiceKeys | None = None
        self._origin: str | None = None
        self._last_checkpoint_at = 0.0
        # Sign a checkpoint after an append when the last is older than checkpoint_interval. A
        # service with its own background signer turns this off: no request then waits for one.
        self.inline_checkpoints = True
        self._queue: list[_Pending] = []
        self._queue_lock = threading.Lock()
        self._leader = threading.Lock()
        self._guard_against_rollback()
        self.publisher = Publisher(self)
        # With witnesses, the first append of this process waits for their high-water mark: a log
        # restored from an old backup (its outside copy gone with it) must not take new entries at
        # indices the witnesses already cosigned with others.
        self._witness_floor_read = not self.publisher.witnessed
        self._witness_floor_lock = threading.Lock()

    def _guard_against_rollback(self) -> None:
        """Refuse appends to a log shorter than the last checkpoint signed (a restored old backup)."""
        if (self.settings.key_dir / "checkpoint.keys").exists() and self.settings.checkpoint_path.exists():
            keeper = CheckpointKeeper(self.settings.checkpoint_path, self.keys.checkpoint)
            self.store.chain.min_size = keeper.last_size()

    def close(self) -> None:
        self.publisher.close()
        self.store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- service keys ----------------------------------------------------------
    @property
    def keys(self) -> ServiceKeys:
        if self._keys is None:
            self._keys = ServiceKeys.load(self.settings.key_dir)
        return self._keys

    def reload_keys(self) -> None:
        self._keys = None

    # ---- writes ----------------------------------------------------------------
    def initialise(
        self, origin: str, admin_vkey: str, policy: dict[str, list[str]],
        admin_roles: Sequence[str] = ("administrator",), admin_attributes: dict[str, Any] | None = None,
        predecessor: dict[str, str] | None = None, court_clerks: Sequence[tuple[str, str]] = (),
        agency_officials: Sequence[tuple[str, str]] | None = None,
    ) -> Appended:
        """Write genesis (entry 0) with fresh service keys; refuse if the log is not empty.

        ``court_clerks``: (verifier key, court) of each court's clerk, the key that countersigns the
        registration of that court's first judges (an administrator alone cannot make a court).
        ``agency_officials``: (verifier key, agency) of each agency's official; given (even empty), the
        log is agency-anchored: every key of an agency is countersigned by a key of that agency, and an
        agency not named here gets its first key on two administrators' signatures. None (the default)
        writes no such field: an administrator alone registers an agency's non-recipient keys."""
        if self.size() > 0:
            raise LedgerError("the ledger already has a genesis entry")
        if (self.settings.key_dir / "statement.key").exists():
            keys = ServiceKeys.load(self.settings.key_dir)
            if keys.statement.name != origin + "/ledger":
                raise LedgerError(f"service keys in {self.settings.key_dir} belong to another origin")
        else:
            keys = ServiceKeys.generate(origin)
            keys.save(self.settings.key_dir)
        self._keys = keys
        body: dict[str, Any] = {
            "origin": origin,
            "checkpoint_vkey": str(keys.checkpoint[0].verifier),
            "statement_vkey": str(keys.statement.verifier),
            "administrator": {
                "vkey": str(parse_vkey(admin_vkey)), "roles": list(admin_roles),
                "attributes": admin_attributes or {},
            },
            "policy": policy,
        }
        if court_clerks:
            body["court_clerks"] = [{"vkey": str(parse_vkey(v)), "court": court} for v, court in court_clerks]
        if agency_officials is not None:
            body["agency_officials"] = [{"vkey": str(parse_vkey(v)), "agency": agency}
                                        for v, agency in agency_officials]
        if predecessor is not None:  # the finished log this one succeeds: its origin, key, last cosigned checkpoint
            body["predecessor"] = dict(predecessor)
        envelope = make_envelope("genesis", "genesis", [keys.statement.name], body)
        appended = self.append(sign_statement(envelope, [keys.statement]))
        self.publish(force=True, lease_timeout=LEASE_WAIT)  # with witnesses: published once they cosign
        return appended

    def append(self, note: str | Statement, *, schema_checked: bool = False) -> Appended:
        """Append one signed statement (its note, or as ``parse_statement`` returned it in this process;
        ``schema_checked``: the caller ran the rules' schema check on it, see :meth:`append_parsed`).

        Concurrent callers are grouped into one transaction (group commit): each waits while
        one of them, the leader, commits what is queued. Every statement keeps its own outcome:
        a refused one is taken out of the group (and, for a rule refusal, recorded as
        `blocked`) and the rest are committed without it. Raises AppendRefused (nothing stored)
        or RuleRefusal (a `blocked` entry stored); an exact resubmission returns the original.
        """
        try:
            stmt = note if isinstance(note, Statement) else parse_statement(note)
        except LedgerError as e:
            raise AppendRefused(str(e), "statement.shape") from None
        self.read_witness_floor()
        item = _Pending(stmt, self._preverify(stmt), schema_checked)  # signatures checked here, in parallel
        with self._queue_lock:
            self._queue.append(item)
        while not item.done:
            with self._leader:
                if item.done:
                    break
                with self._queue_lock:
                    group, self._queue = self._queue[:GROUP_MAX], self._queue[GROUP_MAX:]
                self._commit_group(group)
        if item.error is not None:
            raise item.error
        assert item.result is not None
        return item.result

    def _commit_group(self, group: list[_Pending]) -> None:
        pending = list(group)
        try:
            while pending:
                try:
                    results = self._save([p.stmt for p in pending], [p.keys for p in pending],
                                         schema_checked={p.stmt.id for p in pending if p.schema_checked})
                except RuleRefusal as refusal:
                    refused_one = next(p for p in pending if p.stmt.id == refusal.statement_id)
                    refusal.blocked_index = self._record_blocked(refused_one.stmt, refusal.rules).index
                    refused_one.finish(error=refusal)
                    pending.remove(refused_one)
                    continue
                except AppendRefused as refused:
                    culprit = next((p for p in pending if p.stmt.id == refused.statement_id), None)
                    if culprit is None and len(pending) == 1:
                        culprit = pending[0]
                    if culprit is not None:
                        culprit.finish(error=refused)
                        pending.remove(culprit)
                        continue
                    results = None
                except Conflict:
                    results = None
                if results is None:  # not attributable to one statement: one transaction each
                    if len(pending) == 1:
                        try:
                            pending[0].finish(result=self._resubmission([pending[0].stmt])[0])
                        except LedgerError as e:
                            pending[0].finish(error=e)
                    else:
                        for p in pending:
                            self._commit_group([p])
                    return
                for p, r in zip(pending, results, strict=True):
                    p.finish(result=r)
                pending = []
        except BaseException as e:  # a database failure: every waiting caller hears of it
            for p in pending:
                if not p.done:
                    p.finish(error=e)
            if not isinstance(e, Exception):
                raise
        finally:
            self._maybe_checkpoint()

    def append_batch(self, notes: Sequence[str],
                     pseudonyms: Mapping[str, list[tuple[int, str]]] | None = None) -> list[Appended]:
        """Append statements in one transaction, all or none.

        Raises AppendRefused (nothing stored) or RuleRefusal (a `blocked` entry stored).
        An exact resubmission returns the original indices with ``duplicate=True``.
        ``pseudonyms`` (by statement id: (line, pseudonym) rows computed at ingest) are stored in
        the same transaction as the entries.
        """
        try:
            stmts = [parse_statement(n) for n in notes]
        except LedgerError as e:
            raise AppendRefused(str(e), "statement.shape") from None
        return self.append_parsed(stmts, pseudonyms)

    def append_parsed(self, stmts: Sequence[Statement],
                      pseudonyms: Mapping[str, list[tuple[int, str]]] | None = None,
                      schema_checked: bool = False) -> list[Appended]:
        """As :meth:`append_batch`, for statements ``parse_statement`` already returned in this process
        (the disclosure service parses each once, to check its openings before anything is stored).
        ``schema_checked``: the caller ran ``ledger.domain.schemas.check_body`` on each (the rules'
        schema check), so the transaction does not repeat it; every other check runs as usual."""
        if not stmts:
            return []
        self.read_witness_floor()
        return self._append_statements(list(stmts), pseudonyms=dict(pseudonyms or {}),
                                       schema_checked={s.id for s in stmts} if schema_checked else set())

    def _save(self, stmts: list[Statement], verified: list[list[VerifierKey] | None],
              refusing: dict[str, bytes] | None = None,
              pseudonyms: dict[str, list[tuple[int, str]]] | None = None,
              schema_checked: set[str] | None = None) -> list[Appended]:
        """One transaction: the chained entries, or nothing."""
        return self.store.append(AppendRequest(stmts, verified, refusing or {}, pseudonyms=pseudonyms or {},
                                               schema_checked=schema_checked or set()))

    def _append_statements(self, stmts: list[Statement], refusing: dict[str, bytes] | None = None,
                           pseudonyms: dict[str, list[tuple[int, str]]] | None = None,
                           schema_checked: set[str] | None = None) -> list[Appended]:
        try:
            results = self._save(stmts, [self._preverify(s) for s in stmts], refusing, pseudonyms, schema_checked)
        except Conflict:
            return self._resubmission(stmts, pseudonyms)
        except RuleRefusal as refusal:
            # The refused statement is recorded once as `blocked` (docs/FORMAT.md § 7.8); the rest of
            # its batch is not stored and may be resubmitted without it.
            refused = next(s for s in stmts if s.id == refusal.statement_id)
            refusal.blocked_index = self._record_blocked(refused, refusal.rules).index
            raise
        self._maybe_checkpoint()
        return results

    def _preverify(self, stmt: Statement) -> list[VerifierKey] | None:
        """Check signatures outside the transaction against the last known keys (re-checked inside)."""
        trust = self.store.chain.trust_snapshot()
        try:
            keys = [trust._signer_key(stmt, name, trust.size)[0] for name in stmt.signers]
            verify_exactly(stmt.note, keys)
        except Exception:  # any doubt: the transaction checks again
            return None
        return keys

    def _resubmission(self, stmts: list[Statement],
                      pseudonyms: dict[str, list[tuple[int, str]]] | None = None) -> list[Appended]:
        """After a duplicate-id conflict: the original indices if every statement is an exact resubmission."""
        ids = [s.id for s in stmts]
        marks = ",".join(["%s"] * len(ids))
        with self.store.reading() as db:
            refused = db.all(f"SELECT statement_id, idx FROM {db.t('dl_refused')} WHERE statement_id IN ({marks})", ids)
            rows = db.all(
                f"SELECT statement_id, idx, leaf_hash, recorded_at, entry FROM {db.t('dl_entries')} "
                f"WHERE statement_id IN ({marks})",
                ids,
            )
        if refused:
            raise AppendRefused(
                f"statement id {refused[0][0]} was refused by a rule (entry {refused[0][1]})", "ledger.refused_id"
            )
        found = {r[0]: r for r in rows}
        results: list[Appended | None] = []
        for s in stmts:
            row = found.get(s.id)
            if row is not None and _entry_statement(bytes(row[4])) != s.raw:
                raise AppendRefused(f"statement id {s.id} is already used by another statement", "ledger.duplicate_id")
            results.append(None if row is None else Appended(int(row[1]), bytes(row[2]), s.id, row[3], duplicate=True))
        missing = [s for s, r in zip(stmts, results, strict=True) if r is None]
        if missing:
            # A batch resubmitted after a partial failure: the stored part is returned as it was,
            # the rest is appended now (in the batch's order, after what is stored).
            if len(missing) == len(stmts):
                raise AppendRefused("the statements conflict with stored ones", "ledger.duplicate_id")
            appended = iter(self._append_statements(missing, pseudonyms=pseudonyms))
            results = [r if r is not None else next(appended) for r in results]
        return [r for r in results if r is not None]

    def _refers_to(self, stmt: Statement) -> str | None:
        found = self.rules.refers_to(stmt) if self.rules is not None else None
        return found if isinstance(found, str) else None

    def record_blocked(self, stmt: Statement, rules: list[str]) -> Appended:
        """Record ``stmt`` as refused by ``rules`` (a `blocked` entry, docs/FORMAT.md § 7.8) when a
        rule the caller checked outside the transaction refuses it: the disclosure service's
        re-derivation of a match result from the request's openings, which the rules engine cannot
        see. The caller has checked that the statement is validly signed by keys the log trusts.
        The id is taken for good: a resubmission is refused (``ledger.refused_id``)."""
        return self._record_blocked(stmt, rules)

    def _record_blocked(self, stmt: Statement, rules: list[str]) -> Appended:
        key = self.keys.statement
        body = {
            "statement_id": stmt.id,
            "statement_sha256": stmt.sha256.hex(),
            "statement_type": stmt.type,
            "signers": stmt.signers,
            "rules": rules,
            # The record the refused statement was about (e.g. the request a release names), so that
            # oversight can count blocked attempts per request; None when the rules name none.
            "refers_to": self._refers_to(stmt),
        }
        envelope = make_envelope("blocked", f"blocked:{stmt.sha256.hex()[:40]}", [key.name], body)
        blocked = parse_statement(sign_statement(envelope, [key]))
        return self._append_statements([blocked], refusing={stmt.id: stmt.sha256})[0]

    @property
    def rules(self) -> Rules | None:
        """The rules engine given at construction (its ``state``: what the log's replay built)."""
        return self.store.chain.rules

    def synced_rules(self) -> Any:
        """This process's rules engine brought up to the log's head (for read-only tools: the
        officer's queue, bundles). Its state is what the next append will be checked against."""
        with self.store.reading() as db:
            self.store.chain.synced(db)
        return self.store.chain.rules

    def trust_snapshot(self) -> TrustState:
        """The trust state as of the last transaction this process saw (for pre-checks only: the
        append re-checks everything against the log's head)."""
        return self.store.chain.trust_snapshot()

    def trust(self) -> TrustState:
        """The trust state at the current head, read from the log."""
        from ledger.store.chain import ChainWriter

        writer = ChainWriter()
        with self.store.reading() as db:
            writer.synced(db)
        return writer.trust_snapshot()

    def fsck(self, progress: Callable[[int], None] | None = None) -> FsckReport:
        """Re-check the stored log: chain, tree, signatures, checkpoints (``disclosure-ledger verify``)."""
        return fsck(self.store, progress)

    @property
    def outdated(self) -> list[str]:
        """What an earlier release left in this database (empty when it is up to date): appends
        are refused until :meth:`migrate` drops it."""
        return list(self.store.outdated)

    def migrate(self) -> list[str]:
        """Bring a database written by an earlier release up to this one; what was dropped."""
        return self.store.migrate()

    # ---- checkpoints after appends, and the witnesses' floor -----------------------------
    def _maybe_checkpoint(self) -> None:
        if not self.inline_checkpoints or \
                time.monotonic() - self._last_checkpoint_at < self.settings.checkpoint_interval:
            return
        self._last_checkpoint_at = time.monotonic()  # tried: the next try waits its interval too
        try:
            self.publish()  # another process holding the lease publishes instead
        except LedgerError as e:  # the append has landed; the refusal must be seen by operators
            log.error("checkpoint not signed: %s", e)

    def read_witness_floor(self) -> None:
        """Once per process, with a witness policy: refuse appends below what a witness cosigned."""
        if self._witness_floor_read:
            return
        with self._witness_floor_lock:
            if not self._witness_floor_read:
                self.publisher.high_water()  # raises the floor when a witness holds a larger tree
                self._witness_floor_read = True

    @property
    def origin(self) -> str:
        if self._origin is None:
            try:
                stmt = parse_statement(_entry_statement(self.entry(0)))
            except LedgerError:
                raise NotInitialised("the ledger has no genesis entry: run `disclosure-ledger init`") from None
            self._origin = str(stmt.body["origin"])
        return self._origin


def _entry_statement(data: bytes) -> str:
    from ledger.core.entry import parse_entry

    return parse_entry(data).statement
