"""Crash safety through the HTTP service: ``bench/crash_harness.py --target service``.

The real ``disclosure-ledger serve`` (rules engine, sealed store, background checkpoint signer and
projection follower) in its own process group, once per ``--workers`` count, each on a fresh
database; client threads POST validly signed one-line requests with their openings, one of them in
batches of 2-4 through ``POST /v1/statements/batch``; the whole process group is SIGKILLed at
seeded moments with requests in flight. The checks after each kill are crash_harness's
(``_check``) plus the sealed store holding every logged request's openings and nothing else but
those of requests cut short by a kill; after each restart, the views at exactly the head and
replays answering with their original entry: crash_harness.py's docstring says what each means.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from crash_harness import ORIGIN, ROOT, BackendResult, _check

from ledger.authoring.trust import key_registration
from ledger.config import Settings
from ledger.core.entry import parse_entry
from ledger.core.keys import SignerKey
from ledger.core.statement import parse_statement
from ledger.policy import DEFAULT_POLICY
from ledger.store.ledger import Ledger

AGENCY = "DHS/ICE"
CLIENTS = 4  # HTTP client threads posting at once, so that requests are in flight at every kill


def _request(signer: SignerKey, position: int, base: str) -> tuple[str, dict[str, Any]]:
    """The statement id and the POST body of a one-line (i)(2) request about a fictional person, built
    from the salt seed the service issues for it (asked over HTTP first: FORMAT § 13.1; no answer raises
    httpx's error, and the position is posted again after the restart)."""
    import uuid

    import httpx

    from ledger.authoring import disclosure as dc
    from ledger.salts import open_seed_answer, seed_request

    asked = httpx.post(base + "/v1/salt-seeds", timeout=60,
                       json={"request": seed_request(signer, ORIGIN, "request", str(uuid.uuid4()))})
    if asked.status_code != 201:
        raise httpx.HTTPError(f"seed refused: {asked.status_code} {asked.text[:200]}")
    sub = dc.request(signer, exception="6103(i)(2)", agency=AGENCY, statute="8 USC 1253(a)(1)",
                     purpose="criminal_investigation", purpose_text="crash harness",
                     fields=["name", "address"], recipients=[dc.Recipient("Agent A", AGENCY, True, True, 2)],
                     lines=[dc.Line(f"900-{position // 10000 % 100:02d}-{position % 10000:04d}", "Fictional One",
                                    "1 Elm St, Boston, MA 02110", ("2024",), "open case")],
                     case_ids=["FICT-1"], court_order=None, seed=open_seed_answer(signer, asked.json()))
    return parse_statement(sub.note).id, {"statement": sub.note, "openings": [o.to_json() for o in sub.openings]}


def _setup_service(settings: Settings, sealed_dir: Path) -> SignerKey:
    from ledger.rules.engine import RuleEngine
    from ledger.sealed import SealedKeys

    with Ledger(settings, rules=RuleEngine()) as ledger:
        admin = SignerKey.generate(ORIGIN + "/admin")
        ledger.initialise(ORIGIN, str(admin.verifier), DEFAULT_POLICY)
        key = SignerKey.generate("agency.crash.example/director")
        ledger.append(key_registration(admin, key, ["requester"], {"agency": AGENCY, "category": "agency_head"}))
    SealedKeys.generate(sealed_dir)
    return key


def _free_port() -> int:

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    """`disclosure-ledger serve` in its own process group (all its workers die with one SIGKILL)."""

    def __init__(self, settings: Settings, work: Path, sealed_dir: Path, workers: int) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        metrics = work / "metrics"
        metrics.mkdir(exist_ok=True)
        self.env = {**os.environ, "LEDGER_SEALED_KEY_DIR": str(sealed_dir), "LEDGER_KEY_DIR": str(settings.key_dir),
                    "LEDGER_CHECKPOINT_FILE": str(settings.checkpoint_path), "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
        self.cmd = [str(Path(sys.executable).parent / "disclosure-ledger"), "--db", settings.db_url,
                    "--var", str(work), "serve", "--port", str(self.port), "--workers", str(workers)]
        self.log_path = work / "serve.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90) -> str | None:
        """Start and wait for /readyz; None when ready, else why not."""
        import httpx

        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return f"serve exited with {self.proc.returncode}: {self.log_path.read_text()[-400:]}"
            try:
                if httpx.get(self.base + "/readyz", timeout=2).status_code == 200:
                    return None
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        return "the service did not become ready"

    def kill(self) -> None:
        """SIGKILL the whole process group: the supervisor and every worker at once."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.proc = None


class Feed:
    """Positions of the statements to post: first those to resubmit (no answer before a kill), then new ones."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.resubmit: list[int] = []
        self.next_new = 0
        self.in_flight: set[int] = set()
        self.started = threading.Event()  # every client's first POST is on its way: the kill delay runs from here
        self.clients = CLIENTS
        self.posting = 0  # clients whose first POST of this trial is on its way

    def posted(self) -> None:
        """A client's first POST of the trial is on its way (its statements' salt seeds were asked for
        first: a batch client asks for 2-4): once every client's is, the kill delay starts."""
        with self.lock:
            self.posting += 1
            if self.posting >= self.clients:
                self.started.set()

    def new_trial(self) -> None:
        with self.lock:
            self.posting = 0
            self.started.clear()

    def take(self) -> int:
        with self.lock:
            if self.resubmit:
                position = self.resubmit.pop(0)
            else:
                position, self.next_new = self.next_new, self.next_new + 1
            self.in_flight.add(position)
            return position

    def unanswered(self, position: int) -> None:
        with self.lock:
            self.in_flight.discard(position)
            self.resubmit.append(position)


def _post_until_killed(base: str, feed: Feed, make: Any, stop: threading.Event,
                       answers: list[tuple[int, int, dict[str, Any], bool]], errors: list[str], batch: int = 0) -> None:
    """One client: post statements until the service dies (acknowledged = 2xx with index and leaf hash).

    ``batch`` > 0: post that many at a time through ``POST /v1/statements/batch`` (all or none, openings
    sealed with the batch); each item's answer acknowledges its statement (``duplicate``: already logged)."""
    import httpx

    first = True
    with httpx.Client(base_url=base, timeout=60) as http:
        while not stop.is_set():
            positions = [feed.take() for _ in range(max(1, batch))]
            try:
                bodies = [make(p)[1] for p in positions]  # (each asks the service for its salt seed first)
                if first:
                    feed.posted()
                    first = False
                if batch:
                    r = http.post("/v1/statements/batch", json={"statements": bodies})
                else:
                    r = http.post("/v1/statements", json=bodies[0])
            except httpx.HTTPError:  # no answer: unacknowledged, resubmitted after the restart
                for position in positions:
                    feed.unanswered(position)
                if first:  # (no seed: the service is gone) the kill need not wait for this client
                    feed.posted()
                return
            if r.status_code in (200, 201):
                items = r.json()["appended"] if batch else [r.json()]
                with feed.lock:
                    if len(items) != len(positions):
                        errors.append(f"batch of {len(positions)} answered with {len(items)} entries")
                    for position, item in zip(positions, items, strict=False):
                        feed.in_flight.discard(position)
                        status = (200 if item.get("duplicate") else 201) if batch else r.status_code
                        answers.append((position, status, item, batch > 0))
            else:
                for position in positions:
                    feed.unanswered(position)
                with feed.lock:
                    errors.append(f"{r.status_code} {r.text[:200]}")
                if r.status_code < 500:
                    return


def _check_openings(settings: Settings, sealed_dir: Path, sent: list[str]) -> tuple[str | None, int]:
    """With the service dead: every commitment of every logged request has its opening in the sealed
    store, each opening what its commitment says; and every other opening stored is one of a statement
    the clients ``sent`` (notes) that is not in the log — cut short by a kill between the sealing and
    the append (FORMAT § 17.3: openings are sealed first). (None or what differs, how many such)."""
    from ledger.core.bundle_format import statement_commitments
    from ledger.sealed import SealedKeys, SealedStore

    with Ledger(replace(settings, create_tables=False)) as ledger:
        logged_ids: set[str] = set()
        logged: set[str] = set()
        for _, data in ledger.iter_entries():
            stmt = parse_statement(parse_entry(data).statement)
            if stmt.type == "request":
                logged_ids.add(stmt.id)
                logged.update(c for _, c in statement_commitments(stmt))
    cut = {c for stmt in map(parse_statement, sent) if stmt.id not in logged_ids
           for _, c in statement_commitments(stmt)}
    store = SealedStore(settings.db_url, SealedKeys.from_dir(sealed_dir), create_tables=False)
    try:
        opened = store.get_many(logged)  # (each decrypted and checked against its commitment)
        left = store.present(cut)
        stored = store.count()
    finally:
        store.close()
    if len(opened) != len(logged):
        return f"{len(logged) - len(opened)} of {len(logged)} logged commitments have no sealed opening", len(left)
    if stored != len(logged) + len(left):
        return (f"the sealed store holds {stored} openings: {len(logged)} of logged requests, {len(left)} of "
                f"requests cut short, {stored - len(logged) - len(left)} of nothing sent"), len(left)
    return None, len(left)


def _check_views(db_url: str, settings: Settings, timeout: float = 60) -> str | None:
    """Wait until every projection of the restarted service is at exactly its head (the log's size; the
    checkpoints view: the largest signed size); then the request views hold each logged request once,
    at its index. None if so, else what differs."""
    import sqlalchemy as sa

    from projections.db import open_database
    from projections.runner import Runner
    from projections.source import LogSource

    db = open_database(db_url)
    try:
        runner = Runner(LogSource(db), db)
        deadline = time.monotonic() + timeout
        while True:
            status = {p.name: (runner.tracking.position(p.name), p.head(runner.source))
                      for p in runner.projections.values()}
            ahead = {n: s for n, s in status.items() if s[0] > s[1]}
            if ahead:
                return f"projections past the head: {ahead}"
            if all(pos == head for pos, head in status.values()):
                break
            if time.monotonic() > deadline:
                return f"projections did not catch up in {timeout:.0f} s: {status}"
            time.sleep(0.2)
        with Ledger(replace(settings, create_tables=False)) as ledger:
            logged = {}
            for index, data in ledger.iter_entries():
                stmt = parse_statement(parse_entry(data).statement)
                if stmt.type == "request":
                    logged[stmt.id] = index
        t = runner.t
        with db.engine.connect() as conn:
            viewed = conn.execute(sa.select(t.statement.c.statement_id, t.statement.c.idx)
                                  .where(t.statement.c.stype == "request")).all()
            requests = conn.execute(sa.select(t.request.c.request_id, t.request.c.idx)).all()
        for name, rows in (("pj_statement", viewed), ("pj_request", requests)):
            if len(rows) != len(logged) or {sid: int(i) for sid, i in rows} != logged:
                return f"{name} holds {len(rows)} requests, the log {len(logged)} (or at other indices)"
        return None
    finally:
        db.engine.dispose()


def run_service_backend(backend: str, db_url: str, work: Path, trials: int, seed: int, workers: int = 1,
                        max_delay: float = 0.8, log: Any = None) -> BackendResult:
    """``trials`` rounds of: serve, post over HTTP from CLIENTS threads, SIGKILL the service's process group
    after a seeded delay, check the log; restart, check the projections catch up to exactly the head,
    resubmit an acknowledged statement (must answer 200 with its entry) and the ones in flight."""
    import httpx

    started = time.monotonic()
    rng = random.Random(f"{seed}/{backend}/service/{workers}")
    key_dir = work / f"{backend}-keys"
    settings = Settings(db_url, key_dir, key_dir / "last-checkpoint.txt")
    sealed_dir = work / f"{backend}-sealed"
    key = _setup_service(settings, sealed_dir)
    made: dict[int, tuple[str, dict[str, Any]]] = {}
    make_lock = threading.Lock()

    def make(position: int) -> tuple[str, dict[str, Any]]:  # signed once, resubmitted byte for byte
        with make_lock:
            if position not in made:
                made[position] = _request(key, position, service.base)
            return made[position]

    result = BackendResult(f"{backend}/service×{workers}", target="service", workers=workers)
    acks: dict[str, tuple[int, str]] = {}
    service = Service(settings, work, sealed_dir, workers)
    feed = Feed()
    try:
        for trial in range(trials):
            result.trials += 1
            why = service.start()
            if why is not None:
                result.problems.append(f"trial {trial}: {why}")
                break
            if trial and acks:  # after a restart: the views reach exactly the head, and a replay is the same entry
                why = _check_views(db_url, settings)
                if why is not None:
                    result.problems.append(f"trial {trial}: {why}")
                    break
                result.view_checks += 1
                sid = rng.choice(sorted(acks))
                position = next(p for p, m in made.items() if m[0] == sid)
                r = httpx.post(service.base + "/v1/statements", json=make(position)[1], timeout=60)
                body = r.json()
                result.replays += 1
                if r.status_code != 200 or not body.get("duplicate") or \
                        (body.get("index"), body.get("leaf_hash")) != acks[sid]:
                    result.forks += 1
                    result.problems.append(f"trial {trial}: replay of {sid} answered {r.status_code} {body}")
            stop = threading.Event()
            answers: list[tuple[int, int, dict[str, Any], bool]] = []
            errors: list[str] = []
            feed.new_trial()
            # the last client posts batches (2-4 statements, all or none), the others one at a time
            threads = [threading.Thread(target=_post_until_killed,
                                        args=(service.base, feed, make, stop, answers, errors,
                                              rng.randint(2, 4) if c == CLIENTS - 1 else 0))
                       for c in range(CLIENTS)]
            for t in threads:
                t.start()
            feed.started.wait(30)
            time.sleep(rng.uniform(0.02, max_delay))
            with feed.lock:
                result.in_flight_at_kill += len(feed.in_flight)
            service.kill()
            result.kills += 1
            stop.set()
            for t in threads:
                t.join()
            feed.resubmit.sort()
            result.server_errors += sum(e[0] == "5" for e in errors)
            result.problems.extend(f"trial {trial}: refused: {e}" for e in errors if e[0] != "5")
            for position, status, body, batched in answers:
                sid = made[position][0]
                got = (int(body["index"]), str(body["leaf_hash"]))
                if body.get("statement_id") != sid:
                    result.problems.append(f"{sid} acknowledged as {body.get('statement_id')}")
                earlier = acks.get(sid)
                if earlier is not None and earlier != got:
                    result.forks += 1
                    result.problems.append(f"{sid} acknowledged at {earlier[0]} and again at {got[0]}")
                if earlier is None:
                    acks[sid] = got
                    result.batched += batched
                    if status == 200:  # committed while in flight at a kill, acknowledged on resubmission
                        result.unacknowledged_committed += 1
                if status == 200:
                    result.resubmitted_duplicates += 1
            result.acknowledged = len(acks)
            _check(settings, acks, result)
            sent = [body["statement"] for _, body in made.values()]
            why, result.openings_cut_short = _check_openings(settings, sealed_dir, sent)
            if why is not None:
                result.problems.append(f"trial {trial}: {why}")
            result.opening_checks += 1
            if log:
                log(f"{result.backend} trial {trial + 1}/{trials}: {len(acks)} acknowledged, {result.entries} "
                    f"entries, in flight at kills {result.in_flight_at_kill}, lost {result.lost}, "
                    f"forks {result.forks}")
            if not result.ok:
                break
        if result.ok:  # the last kill too: restart once more and check the views
            why = service.start() or _check_views(db_url, settings)
            if why is not None:
                result.problems.append(f"after the last kill: {why}")
            else:
                result.view_checks += 1
    finally:
        service.kill()
    if result.ok:  # the operator's command too, on the final log
        verify = subprocess.run([*service.cmd[:5], "verify"], env=service.env, capture_output=True, text=True)
        if verify.returncode != 0:
            result.fsck_failures += 1
            result.problems.append(f"disclosure-ledger verify: {verify.stdout[-300:]} {verify.stderr[-300:]}")
    result.seconds = round(time.monotonic() - started, 1)
    return result
