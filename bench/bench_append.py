#!/usr/bin/env python3
"""Append throughput: this ledger vs raw eventsourcing, same database, same durability.

In one run, for each backend (SQLite, PostgreSQL), this measures

  raw     a plain ``eventsourcing.application.Application`` with a trivial ``Aggregate``,
          one event per ``save``, payload = a statement note of the same size as the
          ledger's (same bytes, same JSON escaping), the library's default recorder
          (``eventsourcing.sqlite`` / ``eventsourcing.postgres``): no signing, no chain;
  ledger  ``Ledger(Settings(...)).append(note)``: parse, signature check, trust/policy
          checks, hash chain, tree nodes, id index, all in the insert transaction, and
          the periodic checkpoint (``checkpoint_interval`` = 1 s, the default).
          Statements are signed by a registered ``requester`` BEFORE the clock starts:
          signing is the client's job.

Both applications get the eventsourcing environment that ``Settings.eventsourcing_env()``
builds (the ledger's store takes its datastore from it; the raw application its stock recorder),
so pool size, lock timeout and schema are the same. SQLite: two files in one temporary directory (same disk); the
PRAGMAs in force are read from every connection either application opens.
PostgreSQL: one fresh schema ``bench_<random>`` for both, dropped at the end;
``SHOW synchronous_commit`` is read on the applications' own pooled connections.

``--clients T`` (default 4): both sides are driven by T client threads at once, the same T
on both. Raw: T threads each calling ``app.save(Item(...))`` in a loop, still exactly one
event per save. Ledger: T threads each calling ``ledger.append(note)`` with pre-signed notes;
the ledger may group concurrent appends into one transaction (group commit), the raw side
does not. A round is N appends in total, split as evenly as possible across the T threads,
timed on the wall clock from releasing the threads (all started and parked first) to the
last one joined. ``--clients 1`` runs the appends in the main thread, no threads, the same
loop as before the option existed: figures from before stay comparable.

Rounds alternate raw/ledger (the order flips every round) so that noise on a shared
machine hits both; the result is the median rate of each and ratio = ledger / raw.
Goal: ratio >= 0.6 on each backend. Also printed: CPU time of this process per append
(wall minus CPU is waiting: fsync, the PostgreSQL server, other processes) and, after the
timed rounds, an instrumented extra single-client round (where ledger time goes: parse, Ed25519, the
chain's SELECTs and INSERTs, event insert + commit, checkpoint) and, on SQLite, the WAL
pages each commit writes (single-client too). Row counts are checked after every round and
at the end (ledger size, the indices the appends returned, raw rows); a mismatch fails the
backend. ``--batch K`` writes K per transaction on both sides, per client (what group commit
would give); ``--sqlite-synchronous OFF`` is a diagnostic (CPU-only) run.

    .venv/bin/python bench/bench_append.py                       # both backends, N=500, 5 rounds, 4 clients
    .venv/bin/python bench/bench_append.py --clients 1           # single client (the figures before --clients)
    .venv/bin/python bench/bench_append.py --backends sqlite --n 200 --rounds 3
    .venv/bin/python bench/bench_append.py --json bench/results/append.json --profile bench/results
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import io
import json
import os
import platform
import pstats
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import eventsourcing.sqlite as es_sqlite  # noqa: E402
from eventsourcing.application import Application  # noqa: E402
from eventsourcing.domain import Aggregate, event  # noqa: E402

import ledger.store.ledger as ledger_module  # noqa: E402
from ledger.authoring.trust import key_registration, signed  # noqa: E402
from ledger.config import Settings  # noqa: E402
from ledger.core.keys import SignerKey  # noqa: E402
from ledger.policy import DEFAULT_POLICY  # noqa: E402
from ledger.store.ledger import Ledger  # noqa: E402

GOAL = 0.6
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
ORIGIN = "bench.ledger.example/disclosures"
ADMIN = f"{ORIGIN}/admin"
REQUESTER = "agency.example.gov/requester-0001"
SYNC_NAMES = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


# ---- the raw application ------------------------------------------------------------------
class Item(Aggregate):
    """A trivial aggregate: one creation event carrying a string."""

    @event("Created")
    def __init__(self, text: str) -> None:
        self.text = text


class RawApp(Application[Any]):
    name = "rawbench"


# ---- SQLite PRAGMA capture: every connection either application opens --------------------
class SqlitePragmas:
    """Wraps the library's connection factory to read (and, if needed, enforce) the PRAGMAs.

    The ledger does not set ``synchronous``; SQLite's compiled default applies. If it is not
    FULL on this build, both applications are switched to FULL alike and the report says so.
    ``--sqlite-synchronous NORMAL|OFF`` is a diagnostic (how much is fsync, how much CPU);
    such a run is marked as not comparable with the goal.
    """

    def __init__(self, target: str = "FULL") -> None:
        self.target = target  # FULL for the measurement; NORMAL/OFF only to split CPU from fsync
        self.seen: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._orig: Callable[..., Any] | None = None

    def install(self) -> None:
        pool_cls = es_sqlite.SQLiteConnectionPool
        orig = pool_cls._create_connection
        self._orig = orig
        seen = self.seen
        target = self.target
        target_code = {v: k for k, v in SYNC_NAMES.items()}[target]

        def create(pool: Any) -> Any:
            conn = orig(pool)
            raw = conn._sqlite_conn
            before = raw.execute("PRAGMA synchronous").fetchone()[0]
            forced = before != target_code
            if forced:
                raw.execute(f"PRAGMA synchronous={target}")
            seen[pool.db_name].append({
                "journal_mode": raw.execute("PRAGMA journal_mode").fetchone()[0],
                "synchronous": SYNC_NAMES.get(raw.execute("PRAGMA synchronous").fetchone()[0], "?"),
                "synchronous_default": SYNC_NAMES.get(before, str(before)),
                "forced": forced,
                "wal_autocheckpoint": raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0],
                "busy_timeout_ms": raw.execute("PRAGMA busy_timeout").fetchone()[0],
            })
            return conn

        pool_cls._create_connection = create  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        if self._orig is not None:
            es_sqlite.SQLiteConnectionPool._create_connection = self._orig  # type: ignore[method-assign]


# ---- statements ---------------------------------------------------------------------------
def make_request(requester: SignerKey, target_bytes: int, pad: int | None = None) -> str:
    """A signed `request` statement; the padding is chosen so that the note is ~target_bytes."""
    body: dict[str, Any] = {
        "exception": "6103(i)(2)",
        "line_count": 2,
        "line_commitments": [secrets.token_hex(32), secrets.token_hex(32)],
        "purpose_commitment": secrets.token_hex(32),
        "note": "x" * (pad or 0),
    }
    return signed([requester], "request", body)


def pad_for(requester: SignerKey, target_bytes: int) -> int:
    base = len(make_request(requester, target_bytes, 0).encode())
    return max(0, target_bytes - base)


# ---- timing helpers -----------------------------------------------------------------------
class Timers:
    """Accumulated wall time per label, from wrapped callables."""

    def __init__(self) -> None:
        self.total: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.total[label] += time.perf_counter() - t0
                self.calls[label] += 1

        return timed


def split(n: int, parts: int) -> list[int]:
    """n as `parts` counts differing by at most one (the first ones get the extra)."""
    q, r = divmod(n, parts)
    return [q + (1 if i < r else 0) for i in range(parts)]


def drive(jobs: list[Callable[[], None]]) -> tuple[float, float]:
    """Run the jobs at once; (wall seconds, CPU seconds of this process) from start to all done.

    One job runs inline in the calling thread (the single-client measurement, unchanged).
    Several run one per thread: the threads are started and parked first, then released
    together; the clock runs from the release to the last join. An exception in any job is
    raised here after all have joined.
    """
    if len(jobs) == 1:
        c0, t0 = time.process_time(), time.perf_counter()
        jobs[0]()
        return time.perf_counter() - t0, time.process_time() - c0
    ready = threading.Barrier(len(jobs) + 1)
    go = threading.Event()
    errors: list[BaseException] = []

    def client(job: Callable[[], None]) -> None:
        ready.wait()
        go.wait()
        try:
            job()
        except BaseException as e:  # reported by drive() after the join
            errors.append(e)

    threads = [threading.Thread(target=client, args=(job,), name=f"bench-client-{i}", daemon=True)
               for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    ready.wait()  # every client is parked on `go`
    c0, t0 = time.process_time(), time.perf_counter()
    go.set()
    for t in threads:
        t.join()
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    if errors:
        raise errors[0]
    return dt, cpu


@contextlib.contextmanager
def patched(obj: Any, attr: str, value: Any) -> Iterator[None]:
    """Set an attribute for the duration; restore (or delete an instance override) after."""
    had = attr in getattr(obj, "__dict__", {})
    old = getattr(obj, attr)
    setattr(obj, attr, value)
    try:
        yield
    finally:
        if had:
            setattr(obj, attr, old)
        else:
            delattr(obj, attr)


# ---- one backend --------------------------------------------------------------------------
class Backend:
    def __init__(self, kind: str, args: argparse.Namespace, tmp: Path, pragmas: SqlitePragmas) -> None:
        self.kind = kind
        self.args = args
        self.tmp = tmp / kind
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.pragmas = pragmas
        self.schema: str | None = None
        self.pg_base = args.pg_url
        if kind == "sqlite":
            ledger_url = f"sqlite:///{self.tmp / 'ledger.sqlite3'}"
            raw_url = f"sqlite:///{self.tmp / 'raw.sqlite3'}"
        else:
            self.schema = f"bench_{secrets.token_hex(4)}"
            sep = "&" if "?" in self.pg_base else "?"
            ledger_url = raw_url = f"{self.pg_base}{sep}schema={self.schema}"
        self.settings = Settings(ledger_url, self.tmp / "service-keys", self.tmp / "last-checkpoint.txt")
        self.raw_env = Settings(raw_url, self.tmp / "unused", self.tmp / "unused.txt").eventsourcing_env()
        self.ledger: Ledger | None = None
        self.raw: RawApp | None = None
        self.requester = SignerKey.generate(REQUESTER)
        self.pad = 0
        self.sample_note = ""
        self.rates: dict[str, list[float]] = {"raw": [], "ledger": []}
        # CPU time of this process per append (all threads): what noise on a shared machine does not inflate
        # much; wall time minus this is waiting (fsync, the PostgreSQL server, other processes).
        self.cpu_us: dict[str, list[float]] = {"raw": [], "ledger": []}
        self.ledger_appends = 0
        self.raw_saves = 0
        self.clients: int = args.clients
        self.problems: list[str] = []  # count checks that failed (the backend then fails)

    # -- set-up / tear-down
    def setup(self) -> None:
        if self.kind == "postgres":
            self._pg_exec(f'CREATE SCHEMA "{self.schema}"')  # eventsourcing needs it to exist
        self.ledger = Ledger(self.settings)
        self.raw = RawApp(env=self.raw_env)
        admin = SignerKey.generate(ADMIN)
        self.ledger.initialise(ORIGIN, str(admin.verifier), DEFAULT_POLICY)
        self.ledger.append(key_registration(admin, self.requester, ["requester"]))
        self.ledger_appends = 2
        self.pad = pad_for(self.requester, self.args.statement_bytes)
        self.sample_note = make_request(self.requester, self.args.statement_bytes, self.pad)

    def close(self) -> None:
        for app in (self.ledger, self.raw):
            if app is not None:
                with contextlib.suppress(Exception):
                    app.close()
        if self.kind == "postgres" and self.schema and not self.args.keep:
            self._pg_exec(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')

    def _pg_connect(self) -> Any:
        import psycopg

        env = self.raw_env
        return psycopg.connect(
            host=env["POSTGRES_HOST"], port=int(env["POSTGRES_PORT"]), dbname=env["POSTGRES_DBNAME"],
            user=env["POSTGRES_USER"], password=env["POSTGRES_PASSWORD"] or None, autocommit=True,
        )

    def _pg_exec(self, sql: str) -> None:
        with self._pg_connect() as conn:
            conn.execute(sql)

    # -- work
    def notes(self, n: int) -> list[str]:
        return [make_request(self.requester, self.args.statement_bytes, self.pad) for _ in range(n)]

    def _raw_client(self, count: int) -> None:
        """One client's share of a raw round: `count` new aggregates, one event each."""
        assert self.raw is not None
        payload = self.sample_note
        save = self.raw.save
        k = self.args.batch
        if k == 1:
            for _ in range(count):
                save(Item(payload))
        else:
            for i in range(0, count, k):
                save(*[Item(payload) for _ in range(min(k, count - i))])

    def _ledger_client(self, notes: list[str], out: list[Any]) -> None:
        """One client's share of a ledger round: its pre-signed notes, appended in order."""
        assert self.ledger is not None
        k = self.args.batch
        if k == 1:
            append = self.ledger.append
            for note in notes:
                out.append(append(note))
        else:
            for i in range(0, len(notes), k):
                out.extend(self.ledger.append_batch(notes[i : i + k]))

    def raw_round(self, n: int) -> float:
        assert self.raw is not None
        before = self.raw.recorder.max_notification_id() or 0
        dt, cpu = drive([functools.partial(self._raw_client, c) for c in split(n, self.clients) if c])
        self.cpu_us["raw"].append(cpu / n * 1e6)
        self.raw_saves += n
        after = self.raw.recorder.max_notification_id() or 0
        if after - before != n:
            self.problems.append(f"raw round: notification ids {before} -> {after}, expected +{n}")
        return n / dt

    def ledger_round(self, notes: list[str]) -> float:
        assert self.ledger is not None
        n = len(notes)
        before = self.ledger.size()
        shares, start = [], 0
        for c in split(n, self.clients):
            shares.append(notes[start : start + c])
            start += c
        outs: list[list[Any]] = [[] for _ in shares]
        dt, cpu = drive([functools.partial(self._ledger_client, mine, out)
                         for mine, out in zip(shares, outs, strict=True) if mine])
        self.cpu_us["ledger"].append(cpu / n * 1e6)
        self.ledger_appends += n
        # Every append got its own new entry: the returned indices are exactly the next n.
        results = [a for out in outs for a in out]
        indices = sorted(a.index for a in results)
        after = self.ledger.size()
        if indices != list(range(before, before + n)) or any(a.duplicate for a in results) or after != before + n:
            self.problems.append(f"ledger round: size {before} -> {after}, {len(results)} results, "
                                 f"{len(set(indices))} distinct indices, expected {n} new entries "
                                 f"{before}..{before + n - 1}")
        return n / dt

    # -- durability settings actually in force
    def durability(self) -> dict[str, Any]:
        if self.kind == "sqlite":
            out: dict[str, Any] = {}
            for role, path in (("raw", self.raw_env["SQLITE_DBNAME"]),
                               ("ledger", self.settings.eventsourcing_env()["SQLITE_DBNAME"])):
                conns = self.pragmas.seen.get(path, [])
                out[role] = {"file": path, "connections": len(conns),
                             "distinct": [dict(t) for t in {tuple(sorted(c.items())) for c in conns}]}
            return out
        out = {}
        assert self.raw is not None and self.ledger is not None
        raw_ds: Any = getattr(self.raw.recorder, "datastore")  # noqa: B009
        for role, ds in (("raw", raw_ds), ("ledger", self.ledger.store.datastore)):
            values = []
            # Hold the pool's connections at once so that each one is asked: the standing ones
            # and any the clients opened beyond them (still open: idle ones close after minutes).
            open_now = int(ds.pool.get_stats().get("pool_size", 0))
            with contextlib.ExitStack() as stack:
                for _ in range(min(max(ds.pool.min_size, open_now), ds.pool.max_size)):
                    conn = stack.enter_context(ds.get_connection())
                    row = {}
                    for name in ("synchronous_commit", "fsync", "wal_sync_method", "commit_delay"):
                        r = conn.execute(f"SHOW {name}").fetchone()
                        row[name] = next(iter(r.values())) if isinstance(r, dict) else r[0]
                    r = conn.execute("SELECT current_database() AS db, pg_backend_pid() AS pid").fetchone()
                    row["database"], row["backend_pid"] = r["db"], r["pid"]
                    values.append(row)
            out[role] = {"schema": ds.schema, "connections": values}
        return out

    def raw_rows(self) -> int:
        """Rows in the raw application's events table (one per save)."""
        assert self.raw is not None
        rec: Any = self.raw.recorder
        ds = rec.datastore
        name = rec.events_table_name
        table = name if self.kind == "sqlite" else f'"{ds.schema}"."{name}"'
        with ds.transaction(commit=False) as c:
            c.execute(f"SELECT COUNT(*) AS n FROM {table}")
            row = c.fetchone()
        return int(row["n"] if not isinstance(row, tuple) else row[0])

    def check_counts(self) -> dict[str, Any]:
        assert self.ledger is not None and self.raw is not None
        counts: dict[str, Any] = {
            "ledger_size": self.ledger.size(), "ledger_expected": self.ledger_appends,
            "raw_max_notification_id": self.raw.recorder.max_notification_id() or 0,
            "raw_rows": self.raw_rows(), "raw_expected": self.raw_saves,
        }
        if counts["ledger_size"] != counts["ledger_expected"]:
            self.problems.append(f"ledger size {counts['ledger_size']} != expected {counts['ledger_expected']}")
        if not counts["raw_rows"] == counts["raw_max_notification_id"] == counts["raw_expected"]:
            self.problems.append(f"raw rows {counts['raw_rows']} / max notification id "
                                 f"{counts['raw_max_notification_id']} != saves {counts['raw_expected']}")
        counts["problems"] = list(self.problems)
        counts["ok"] = not self.problems
        return counts

    # -- breakdown: one extra, instrumented round of each (not counted in the rates)
    def breakdown(self, n: int) -> dict[str, Any]:
        """Time spent in the ledger's stages, by wrapping them (private names: a missing one is skipped).

        Single-client whatever --clients says: the timers are per call, not per thread.
        """
        assert self.ledger is not None and self.raw is not None
        lt = Timers()
        lg = self.ledger
        rec = lg.store
        chain = getattr(rec, "chain", None)
        notes = self.notes(n)
        hooks = [
            (ledger_module, "parse_statement", "parse_statement"),
            (ledger_module, "verify_exactly", "ed25519_verify"),
            (lg, "_preverify", "preverify_total"),
            (lg, "_maybe_checkpoint", "checkpoint"),
            (rec, "append", "db_transaction"),
            (chain, "append", "chain_in_txn"),
            (chain, "_sync", "chain_sync_select"),
            (chain, "_check_ids", "chain_check_ids_select"),
            (chain, "_admit", "chain_trust_admit"),
        ]
        missing = []
        with contextlib.ExitStack() as st:
            for obj, attr, label in hooks:
                if obj is None or not callable(getattr(obj, attr, None)):
                    missing.append(label)
                    continue
                st.enter_context(patched(obj, attr, lt.wrap(label, getattr(obj, attr))))
            t0 = time.perf_counter()
            for note in notes:
                lg.append(note)
            lt.total["append_total"] = time.perf_counter() - t0
        self.ledger_appends += n

        rt = Timers()
        raw = self.raw
        raw_rec: Any = raw.recorder
        with patched(raw_rec, "insert_events", rt.wrap("db_transaction", raw_rec.insert_events)):
            t0 = time.perf_counter()
            for _ in range(n):
                raw.save(Item(self.sample_note))
            rt.total["save_total"] = time.perf_counter() - t0
        self.raw_saves += n

        def per(t: Timers) -> dict[str, float]:
            return {k: round(v / n * 1e6, 1) for k, v in t.total.items()}

        led, rw = per(lt), per(rt)
        def g(k: str) -> float:
            return led.get(k, 0.0)

        led["chain_inserts_and_rest"] = round(
            g("chain_in_txn") - g("chain_sync_select") - g("chain_check_ids_select") - g("chain_trust_admit"), 1)
        led["db_txn_minus_chain"] = round(g("db_transaction") - g("chain_in_txn"), 1)
        led["outside_txn"] = round(g("append_total") - g("db_transaction"), 1)
        led["other_outside_txn"] = round(
            g("outside_txn") - g("parse_statement") - g("preverify_total") - g("checkpoint"), 1)
        rw["outside_txn"] = round(rw["save_total"] - rw["db_transaction"], 1)
        return {"n": n, "ledger_us_per_append": led, "raw_us_per_save": rw,
                "checkpoint_calls": lt.calls.get("checkpoint", 0), "not_instrumented": missing}

    def wal_frames(self, n: int) -> dict[str, Any]:
        """Pages each commit writes to the WAL (the I/O behind each fsync); autocheckpoint off meanwhile."""
        assert self.ledger is not None and self.raw is not None
        page_size = 0

        def frames(ds: Any, work: Callable[[], None]) -> float:
            nonlocal page_size
            with ds.get_connection(commit=True) as c:
                c._sqlite_conn.execute("PRAGMA wal_autocheckpoint=0")
                c._sqlite_conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                page_size = c._sqlite_conn.execute("PRAGMA page_size").fetchone()[0]
            try:
                work()
            finally:
                with ds.get_connection(commit=True) as c:
                    log_frames = c._sqlite_conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
                    c._sqlite_conn.execute("PRAGMA wal_autocheckpoint=1000")
            return float(log_frames) / n

        lg = self.ledger
        notes = self.notes(n)

        def ledger_work() -> None:
            for note in notes:
                lg.append(note)

        def raw_work() -> None:
            for _ in range(n):
                raw.save(Item(self.sample_note))

        # Keep the once-a-second checkpoint transactions out of the count.
        saved = getattr(lg, "_last_checkpoint_at", None)
        if saved is not None:
            lg._last_checkpoint_at = float("inf")
        try:
            led = frames(lg.store.datastore, ledger_work)
        finally:
            if saved is not None:
                lg._last_checkpoint_at = saved
        self.ledger_appends += n
        raw = self.raw
        rw = frames(raw.recorder.datastore, raw_work)  # type: ignore[attr-defined]
        self.raw_saves += n
        return {"n": n, "raw": rw, "ledger": led, "page_size": page_size}

    def profile(self, n: int, out_dir: Path | None) -> str:
        assert self.ledger is not None
        notes = self.notes(n)
        prof = cProfile.Profile()
        prof.enable()
        for note in notes:
            self.ledger.append(note)
        prof.disable()
        self.ledger_appends += n
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            prof.dump_stats(str(out_dir / f"append_{self.kind}.prof"))
        s = io.StringIO()
        stats = pstats.Stats(prof, stream=s)
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(20)
        return s.getvalue()


# ---- main ---------------------------------------------------------------------------------
def run_backend(kind: str, args: argparse.Namespace, tmp: Path, pragmas: SqlitePragmas) -> dict[str, Any]:
    b = Backend(kind, args, tmp, pragmas)
    where = b.settings.redacted_url()
    print(f"\n=== {kind}: {where}" + ("" if kind == "postgres" else f" (raw: {b.raw_env['SQLITE_DBNAME']})"),
          flush=True)
    try:
        b.setup()
        print(f"statement note: {len(b.sample_note.encode())} bytes (raw payload: the same note text); "
              f"{args.clients} client(s) on each side")
        # warm-up, with the same clients: connections (one per client), prepared statements, caches
        if args.warmup > 0:
            b.raw_round(args.warmup)
            b.ledger_round(b.notes(args.warmup))
        b.cpu_us = {"raw": [], "ledger": []}
        for r in range(args.rounds):
            order = ("raw", "ledger") if r % 2 == 0 else ("ledger", "raw")
            line = []
            for which in order:
                if which == "raw":
                    rate = b.raw_round(args.n)
                else:
                    notes = b.notes(args.n)  # signed before the clock starts
                    rate = b.ledger_round(notes)
                b.rates[which].append(rate)
                line.append(f"{which} {rate:8.1f}/s")
            print(f"round {r + 1}/{args.rounds}: " + "   ".join(line), flush=True)
        med_raw = statistics.median(b.rates["raw"])
        med_led = statistics.median(b.rates["ledger"])
        ratio = med_led / med_raw
        paired = [lr / rr for lr, rr in zip(b.rates["ledger"], b.rates["raw"], strict=True)]
        result: dict[str, Any] = {
            "backend": kind,
            "url": where,
            "n": args.n,
            "clients": args.clients,
            "batch": args.batch,
            "rounds": args.rounds,
            "statement_bytes": len(b.sample_note.encode()),
            "rates": b.rates,
            "cpu_us_per_append": b.cpu_us,
            "median_cpu_us": {k: statistics.median(v) for k, v in b.cpu_us.items()},
            "median_raw": med_raw,
            "median_ledger": med_led,
            "ratio": ratio,
            "median_paired_ratio": statistics.median(paired),
            "verdict": "PASS" if ratio >= GOAL else "BELOW GOAL",
        }
        # Optional extras, after the timed rounds: a failure here (the ledger's private names moved)
        # is reported and does not cost the measurement.
        extras: list[tuple[str, Callable[[], Any]]] = []
        if not args.no_breakdown:
            extras.append(("breakdown", lambda: b.breakdown(args.breakdown_n or args.n)))
            if kind == "sqlite":
                extras.append(("wal_frames", lambda: b.wal_frames(min(200, args.breakdown_n or args.n))))
        if args.profile is not None:
            extras.append(("profile_text", lambda: b.profile(args.n, args.profile)))
        for key, fn in extras:
            try:
                result[key] = fn()
            except Exception as e:
                result.setdefault("extras_failed", {})[key] = f"{type(e).__name__}: {e}"
                print(f"  ({key} not available: {type(e).__name__}: {e})", file=sys.stderr)
        result["durability"] = b.durability()
        result["counts"] = b.check_counts()
        if not result["counts"]["ok"]:
            result["verdict"] = "COUNT MISMATCH"
        return result
    finally:
        b.close()


def print_durability(res: dict[str, Any]) -> None:
    d = res["durability"]
    if res["backend"] == "sqlite":
        for role in ("raw", "ledger"):
            for row in d[role]["distinct"]:
                forced = " (FORCED: library default was " + row["synchronous_default"] + ")" \
                    if row["forced"] else ""
                print(f"  {role:6s} {d[role]['connections']} connection(s): journal_mode={row['journal_mode']} "
                      f"synchronous={row['synchronous']}{forced} wal_autocheckpoint={row['wal_autocheckpoint']} "
                      f"busy_timeout={row['busy_timeout_ms']}ms")
    else:
        for role in ("raw", "ledger"):
            for row in d[role]["connections"]:
                print(f"  {role:6s} pid {row['backend_pid']} db={row['database']} schema={d[role]['schema']}: "
                      f"synchronous_commit={row['synchronous_commit']} fsync={row['fsync']} "
                      f"wal_sync_method={row['wal_sync_method']} commit_delay={row['commit_delay']}")


def durability_ok(res: dict[str, Any]) -> bool:
    d = res["durability"]
    if res["backend"] == "sqlite":
        rows = [r for role in ("raw", "ledger") for r in d[role]["distinct"]]
        return bool(rows) and all(r["journal_mode"] == "wal" and r["synchronous"] == "FULL" for r in rows)
    rows = [r for role in ("raw", "ledger") for r in d[role]["connections"]]
    return bool(rows) and all(r["synchronous_commit"] == "on" and r["fsync"] == "on" for r in rows)


def es_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("eventsourcing")
    except PackageNotFoundError:
        return "?"


def git_state() -> dict[str, Any]:
    """The commit measured, and whether the ledger code differed from it."""
    import subprocess

    def git(*a: str) -> str:
        try:
            return subprocess.run(["git", "-C", str(ROOT), *a], capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {"commit": git("rev-parse", "HEAD"), "dirty_ledger": git("status", "--porcelain", "--", "ledger")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=500, help="appends per round (default 500)")
    p.add_argument("--rounds", type=int, default=5, help="rounds, alternating raw/ledger (default 5)")
    p.add_argument("--backends", default="sqlite,postgres", help="comma list: sqlite,postgres")
    p.add_argument("--json", type=Path, help="write the results here")
    p.add_argument("--pg-url", default=os.environ.get("BENCH_POSTGRES_URL")
                   or os.environ.get("LEDGER_TEST_POSTGRES_URL") or DEFAULT_PG_URL,
                   help=f"PostgreSQL database (default $BENCH_POSTGRES_URL, $LEDGER_TEST_POSTGRES_URL or "
                        f"{DEFAULT_PG_URL}); a fresh schema is used and dropped")
    p.add_argument("--clients", type=int, default=8,
                   help="client threads appending at once, the same number on both sides; each round's N is "
                        "split across them (default 4; 1 = one client in the main thread, the figures from "
                        "before this option)")
    p.add_argument("--batch", type=int, default=1,
                   help="statements per transaction on both sides (default 1; >1 shows what group commit "
                        "would give: Ledger.append_batch vs Application.save(*aggregates))")
    p.add_argument("--statement-bytes", type=int, default=600, help="target note size (default 600)")
    p.add_argument("--warmup", type=int, default=50, help="untimed appends of each kind first (default 50)")
    p.add_argument("--no-breakdown", action="store_true", help="skip the instrumented extra round")
    p.add_argument("--breakdown-n", type=int, default=0, help="appends in the breakdown round (default --n)")
    p.add_argument("--profile", type=Path, nargs="?", const=Path("bench/results"), default=None,
                   help="cProfile one extra ledger round per backend; dump .prof files into DIR")
    p.add_argument("--tmp", type=Path, default=None, help="parent of the temporary directory (default: system tmp)")
    p.add_argument("--sqlite-synchronous", choices=("FULL", "NORMAL", "OFF"), default="FULL",
                   help="diagnostic only: run both SQLite apps with another synchronous setting")
    p.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema (and print it)")
    args = p.parse_args(argv)
    if args.clients < 1:
        p.error("--clients must be >= 1")
    if args.n < 1 or args.rounds < 1:
        p.error("--n and --rounds must be >= 1")
    if args.batch < 1:
        p.error("--batch must be >= 1")

    kinds = [k.strip() for k in args.backends.split(",") if k.strip()]
    for k in kinds:
        if k not in ("sqlite", "postgres"):
            p.error(f"unknown backend {k!r}")
    clash = sorted(k for k in os.environ if k.startswith(("LEDGER_", "RAWBENCH_"))
                   and k.split("_", 1)[1] in ("PERSISTENCE_MODULE", "SQLITE_DBNAME", "POSTGRES_SCHEMA",
                                              "POSTGRES_DBNAME", "CREATE_TABLE"))
    if clash:
        print(f"warning: prefixed eventsourcing variables in the environment override the bench's: {clash}",
              file=sys.stderr)

    print(f"bench_append: eventsourcing {es_version()}, "
          f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"N={args.n} x {args.rounds} rounds, {args.clients} client(s) per side, "
          f"{args.batch} per transaction (per client), goal ledger/raw >= {GOAL}")
    pragmas = SqlitePragmas(args.sqlite_synchronous)
    pragmas.install()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_append_", dir=args.tmp) as tmpdir:
        tmp = Path(tmpdir)
        print(f"temporary directory: {tmp}")
        for kind in kinds:
            try:
                results.append(run_backend(kind, args, tmp, pragmas))
            except Exception as e:  # e.g. PostgreSQL not running: say so, go on with the others
                print(f"{kind}: FAILED: {type(e).__name__}: {e}", file=sys.stderr)
                results.append({"backend": kind, "verdict": "FAILED", "error": f"{type(e).__name__}: {e}"})
    pragmas.uninstall()

    print("\n=== summary (medians of per-round rates, appends/s)")
    ok = True
    for res in results:
        if res["verdict"] == "FAILED":
            print(f"\n{res['backend']}: FAILED ({res['error']})")
            ok = False
            continue
        good = durability_ok(res)
        res["durability_ok"] = good
        if not good and res["verdict"] != "COUNT MISMATCH":
            res["verdict"] = "NOT COMPARABLE"
        print(f"\n{res['backend']} ({res['clients']} client(s) per side): raw {res['median_raw']:.1f}/s   "
              f"ledger {res['median_ledger']:.1f}/s   "
              f"ratio {res['ratio']:.3f} (median of paired rounds {res['median_paired_ratio']:.3f})   "
              f"goal >= {GOAL}: {res['verdict']}")
        cpu = res["median_cpu_us"]
        wall_raw, wall_led = 1e6 / res["median_raw"], 1e6 / res["median_ledger"]
        print(f"  per append (medians): raw {wall_raw:.0f} µs wall, {cpu['raw']:.0f} µs CPU in this process; "
              f"ledger {wall_led:.0f} µs wall, {cpu['ledger']:.0f} µs CPU "
              f"(CPU ratio raw/ledger {cpu['raw'] / cpu['ledger']:.3f})")
        print("  durability in force:")
        print_durability(res)
        if not good:
            print("  WARNING: durability settings are not WAL+synchronous=FULL / synchronous_commit=on:"
                  " this run is a diagnostic, not comparable with the goal")
        c = res["counts"]
        print(f"  rows: ledger size {c['ledger_size']} (expected {c['ledger_expected']}), "
              f"raw rows {c['raw_rows']}, max notification id {c['raw_max_notification_id']} "
              f"(saves {c['raw_expected']}): {'OK' if c['ok'] else 'MISMATCH'}")
        for problem in c["problems"]:
            print(f"  COUNT CHECK FAILED: {problem}")
        if "breakdown" in res:
            bd = res["breakdown"]
            led, rw = bd["ledger_us_per_append"], bd["raw_us_per_save"]
            def g(k: str, led: dict[str, float] = led) -> float:
                return led.get(k, float("nan"))

            print(f"  breakdown (extra instrumented single-client round of {bd['n']} appends, µs per append):")
            print(f"    ledger total {g('append_total'):.0f}: parse {g('parse_statement'):.0f}, "
                  f"pre-verify {g('preverify_total'):.0f} (Ed25519 {g('ed25519_verify'):.0f}), "
                  f"db transaction {g('db_transaction'):.0f} [chain {g('chain_in_txn'):.0f} = "
                  f"head select {g('chain_sync_select'):.0f} + id select {g('chain_check_ids_select'):.0f} + "
                  f"trust {g('chain_trust_admit'):.0f} + inserts/rest {g('chain_inserts_and_rest'):.0f}; "
                  f"lock, commit and rest of txn {g('db_txn_minus_chain'):.0f}], "
                  f"checkpoint {g('checkpoint'):.0f}, other outside txn {g('other_outside_txn'):.0f}")
            print(f"    raw    total {rw['save_total']:.0f}: db transaction {rw['db_transaction']:.0f}, "
                  f"outside txn {rw['outside_txn']:.0f}")
            if bd.get("not_instrumented"):
                print(f"    (not instrumented, names not found: {', '.join(bd['not_instrumented'])})")
        if "wal_frames" in res:
            w = res["wal_frames"]
            print(f"  SQLite WAL frames (pages) written per append, {w['n']} single-client appends each, "
                  f"autocheckpoint off: "
                  f"raw {w['raw']:.2f}, ledger {w['ledger']:.2f} (page size {w['page_size']} B)")
        if res["verdict"] != "PASS":
            ok = False
        if "profile_text" in res:
            print(f"\n  cProfile of {res['n']} single-client ledger appends ({res['backend']}):")
            print("\n".join("    " + line for line in res["profile_text"].splitlines()[:90]))
    verdicts = {r["verdict"] for r in results}
    overall = "PASS" if ok else next(v for v in ("FAILED", "COUNT MISMATCH", "NOT COMPARABLE", "BELOW GOAL")
                                              if v in verdicts)
    print("\nOVERALL:", overall, f"(ledger/raw >= {GOAL} on every backend run)")

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"goal": GOAL, "overall": overall, "python": platform.python_version(), "cpus": os.cpu_count(),
                   "git": git_state(), "argv": sys.argv[1:],
                   "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "results": results}
        args.json.write_text(json.dumps(payload, indent=2, default=str))
        print(f"wrote {args.json}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
