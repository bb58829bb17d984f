"""The one publisher: under the publisher lease, sign a checkpoint, get it cosigned, publish it.

Every path that used to sign on its own — after appends, the service's background thread, a
``?wait=checkpoint`` waiter, the CLI — calls :meth:`Publisher.publish`, which does one round while
holding the lease (ledger.store.lease), so one process at a time, on any host, signs and talks to
the witnesses.

Without a witness policy (the default) a round signs the current size and publishes the log's
signature alone: "unwitnessed". With one (``LEDGER_WITNESS_POLICY``) a round signs, sends the
checkpoint with its consistency proof to every witness of the policy in parallel (from the size each
is known to hold, kept in ``dl_witnesses`` so that whichever process publishes next knows it; a 409
resynchronises from the size the witness names), and publishes — stores in ``dl_checkpoints``, which
``/v1/checkpoint``, the history and the waiters read — only a checkpoint whose cosignatures meet the
quorum. Otherwise nothing is published; the log keeps growing, and ``dl_publication`` says why, for
``/readyz`` and ``/metrics`` of every process. The next round catches up from the witnesses' sizes.

A witness that holds a larger tree, or refuses with 422, makes the round read every witness's
monitoring endpoint (ledger.store.high_water): a signed, cosigned size above the log is a lost tail,
and appends are then refused as for the outside copy.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ledger.config import ConfigError
from ledger.core.checkpoint import SignedCheckpoint, open_with_any
from ledger.core.errors import LedgerError, SignatureError
from ledger.core.note import NoteSignature
from ledger.core.proofs import consistency_path
from ledger.core.times import format_time, utc_now
from ledger.core.tlog_policy import PolicyWitness, WitnessPolicy, parse_policy
from ledger.core.witness_protocol import parse_cosignature_answer, with_lines
from ledger.core.witnessed import open_witnessed
from ledger.store.checkpoints import CheckpointKeeper
from ledger.store.errors import CheckpointRefused, NotInitialised, NotWitnessed
from ledger.store.high_water import HighWater, witness_high_water
from ledger.store.lease import PublisherLease
from ledger.witness_client import WitnessRefused, WitnessUnreachable, request_cosignature

if TYPE_CHECKING:
    from ledger.store.ledger import Ledger

log = logging.getLogger("ledger.publisher")
UNWITNESSED = "unwitnessed"


def load_policy(path: Any) -> WitnessPolicy | None:
    """The configured witness policy, or None; a file that is missing or malformed stops the ledger."""
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"LEDGER_WITNESS_POLICY {path}: {e.strerror or e}") from None
    try:
        policy = parse_policy(data)
    except LedgerError as e:
        raise ConfigError(f"LEDGER_WITNESS_POLICY {path} is not a witness policy: {e}") from None
    if policy.quorum == "none":
        raise ConfigError(f"LEDGER_WITNESS_POLICY {path} has 'quorum none': leave the setting out to publish "
                          "unwitnessed checkpoints")
    if not any(w.url for w in policy.witnesses):
        raise ConfigError(f"LEDGER_WITNESS_POLICY {path} gives no witness a URL: the publisher cannot reach any")
    return policy


@dataclass(frozen=True)
class WitnessRow:
    name: str
    size: int
    line: str | None
    answered_at: str | None
    problem: str | None


@dataclass(frozen=True)
class PublicationStatus:
    """How publication stands, as every process reads it from the database."""

    witnessed: bool
    quorum: str
    attempted_at: str | None = None
    signed_size: int = 0
    published_size: int = 0
    failing_since: str | None = None
    problem: str | None = None
    high_water: int = 0
    high_water_by: str | None = None
    witnesses: tuple[WitnessRow, ...] = ()

    def describe(self) -> str:
        if not self.witnessed:
            return UNWITNESSED
        if self.problem:
            return f"not witnessed since {self.failing_since}: {self.problem}"
        return f"witnessed (quorum {self.quorum}), published size {self.published_size}"


@dataclass
class _Answer:
    witness: PolicyWitness
    size: int | None = None  # the size it holds after this round, when known
    line: NoteSignature | None = None
    problem: str | None = None
    suspicious: bool = False  # holds a larger tree, or answered 422: read the high-water mark


class Publisher:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.policy = load_policy(ledger.settings.witness_policy)
        self.lease = PublisherLease(ledger.settings)

    @property
    def witnessed(self) -> bool:
        return self.policy is not None

    def close(self) -> None:
        self.lease.close()

    # ---- one round -----------------------------------------------------------------
    def publish(self, *, force: bool = False, lease_timeout: float = 0.0) -> SignedCheckpoint | None:
        """One round under the lease: the published checkpoint covering the log, or None.

        None when another process held the lease past ``lease_timeout`` (it publishes), or when the
        quorum was not met (the reason is in :meth:`status`). ``force`` signs the current size again
        (new keys after a rotation). Raises CheckpointRefused for a log behind what was signed.
        """
        with self.lease.held(lease_timeout) as got:
            if not got:
                return None
            return self._round(force)

    def _round(self, force: bool) -> SignedCheckpoint | None:
        ledger = self.ledger
        size = ledger.size()
        if size == 0:
            raise NotInitialised("the ledger is empty")
        if self.policy is not None:
            ledger.read_witness_floor()  # once per process: what the witnesses hold bounds the log from below
        behind = ledger.behind_last_checkpoint()
        if behind:
            known = self.status().problem if self.policy is not None else None
            raise CheckpointRefused(known or f"the log holds {size} entries, {behind} fewer than the last checkpoint "
                                    "signed: a restored older database? restore the missing entries first")
        latest = ledger.latest_checkpoint()
        if latest is not None and latest.checkpoint.size >= size and not force and self._meets_quorum(latest):
            return latest
        keeper = CheckpointKeeper(ledger.settings.checkpoint_path, ledger.keys.checkpoint)
        if self.policy is None:
            signed = keeper.sign(size, ledger.root_at, ledger.origin, self._store, resign=force)
            ledger.note_signed(signed.checkpoint.size)
            return signed
        signed = keeper.sign(size, ledger.root_at, ledger.origin, lambda _s: None, resign=force)
        ledger.note_signed(signed.checkpoint.size)
        return self._witness(signed, self.policy)

    def _meets_quorum(self, signed: SignedCheckpoint) -> bool:
        """Unwitnessed: always. With a policy: its cosignatures meet the quorum (a checkpoint published
        before the policy was configured does not, and is sent to the witnesses)."""
        if self.policy is None:
            return True
        try:
            return open_witnessed(signed.encode(), [k.verifier for k in self.ledger.keys.checkpoint],
                                  self.policy).quorum_met
        except LedgerError:
            return False

    def _store(self, signed: SignedCheckpoint, note: str | None = None, db: Any = None) -> None:
        if db is None:
            with self.ledger.store.writing() as db:
                self._store(signed, note, db)
            return
        cp = signed.checkpoint
        # Re-signing a size (a new key set after rotation) replaces the note; size and root stay.
        db.many(
            f"INSERT INTO {db.t('dl_checkpoints')} VALUES (%s,%s,%s,%s) "
            "ON CONFLICT (size) DO UPDATE SET note = excluded.note, signed_at = excluded.signed_at",
            [(cp.size, cp.root, note or signed.encode(), format_time(utc_now()))],
        )

    def _witness(self, signed: SignedCheckpoint, policy: WitnessPolicy) -> SignedCheckpoint | None:
        rows = {r.name: r for r in self.witness_rows()}
        note = signed.encode()
        with ThreadPoolExecutor(max_workers=len(policy.witnesses)) as pool:
            answers = list(pool.map(lambda w: self._ask(w, signed, note, rows.get(w.name)), policy.witnesses))
        cosigners = {a.witness.name for a in answers if a.line is not None}
        size = signed.checkpoint.size
        if policy.satisfied(cosigners):
            lines = [a.line for a in answers if a.line is not None]
            published = with_lines(note, lines)
            with self.ledger.store.writing() as db:  # one transaction: appends wait for one write lock
                self._record_witnesses(answers, db)
                self._store(signed, published, db)
                self._record_round(size, size, None, db=db)
            log.info("published size %d cosigned by %s", size, ", ".join(sorted(cosigners)))
            return open_with_any(published, [k.verifier for k in self.ledger.keys.checkpoint])
        why = "; ".join(f"{a.witness.name}: {a.problem}" for a in answers if a.problem) or "no witness cosigned"
        problem = (f"size {size} cosigned by {len(cosigners)} ({', '.join(sorted(cosigners)) or 'none'}), "
                   f"quorum {policy.describe()} not met: {why}")
        self._record_witnesses(answers)
        high = self.high_water() if any(a.suspicious for a in answers) else None
        if high is not None and not high.ok:
            problem = high.describe() + "; " + problem
        self._record_round(size, None, problem, high)
        log.error("checkpoint not published: %s", problem)
        return None

    def _ask(self, witness: PolicyWitness, signed: SignedCheckpoint, note: str, row: WitnessRow | None) -> _Answer:
        size = signed.checkpoint.size
        text = signed.note.text
        held = row.size if row is not None else 0
        if row is not None and row.size == size and row.line:
            try:  # cosigned in an earlier round that missed its quorum: the same tree, not sent again
                (line,) = parse_cosignature_answer((row.line + "\n").encode("utf-8"))
                witness.key.verify(text, line)
                return _Answer(witness, size, line)
            except (LedgerError, ValueError):
                pass
        if witness.url is None:
            return _Answer(witness, None, problem="no URL in the policy")
        if held > size:
            held = 0  # what we knew is from a larger tree (a restored database): let the witness say
        try:
            got = request_cosignature(witness.url, note, witness.key, self._prove, old_size=held,
                                      timeout=self.ledger.settings.witness_timeout)
        except WitnessUnreachable as e:
            return _Answer(witness, None, problem=f"unreachable ({e})")
        except WitnessRefused as e:
            suspicious = e.status == 422 or (e.held is not None and e.held > size)
            return _Answer(witness, e.held, problem=f"refused ({e})", suspicious=suspicious)
        except SignatureError as e:
            return _Answer(witness, None, problem=f"bad answer ({e})")
        return _Answer(witness, size, got.line)

    def _prove(self, old: int, new: int) -> Sequence[bytes]:
        return list(self.ledger._with_ranges(lambda rh: consistency_path(old, new, rh)))

    # ---- the high-water mark -------------------------------------------------------
    def high_water(self) -> HighWater | None:
        """Every witness's latest cosigned checkpoint compared with the log (None without a policy).

        A size above the log (signed by this log, cosigned by the witness) is a lost tail: this
        process refuses appends from then on, as for the outside checkpoint copy."""
        if self.policy is None:
            return None
        ledger = self.ledger
        keys = {str(k): k for k in [k.verifier for k in ledger.keys.checkpoint] + list(ledger.trust().checkpoint_keys)}
        high = witness_high_water(self.policy, ledger.origin, list(keys.values()), ledger.size(), ledger.root_at,
                                  ledger.settings.witness_timeout)
        behind = [m.size for m in high.problems if m.problem == "behind" and m.size is not None]
        if behind:
            ledger.raise_floor(max(behind))
        if not high.ok:
            self._record_round(self.status().signed_size, None, high.describe(), high)
            log.error("the log against its witnesses: %s", high.describe())
        return high

    # ---- what every process reads ------------------------------------------------
    def witness_rows(self) -> list[WitnessRow]:
        with self.ledger.store.reading() as db:
            rows = db.all(f"SELECT name, size, line, answered_at, problem FROM {db.t('dl_witnesses')} ORDER BY name")
        return [WitnessRow(str(r[0]), int(r[1]), r[2], r[3], r[4]) for r in rows]

    def _record_witnesses(self, answers: Sequence[_Answer], db: Any = None) -> None:
        """What each witness holds now; an unreachable one keeps what was known of it."""
        if db is None:
            with self.ledger.store.writing() as db:
                self._record_witnesses(answers, db)
            return
        now = format_time(utc_now())
        t = db.t("dl_witnesses")
        for a in answers:
            if a.size is None:
                db.many(f"INSERT INTO {t} VALUES (%s,%s,0,NULL,%s,%s) ON CONFLICT (name) DO UPDATE "
                        "SET answered_at = excluded.answered_at, problem = excluded.problem",
                        [(a.witness.name, str(a.witness.key), now, a.problem)])
                continue
            line = a.line.line().rstrip("\n") if a.line is not None else None
            db.many(f"INSERT INTO {t} VALUES (%s,%s,%s,%s,%s,%s) ON CONFLICT (name) DO UPDATE "
                    "SET vkey = excluded.vkey, size = excluded.size, line = excluded.line, "
                    "answered_at = excluded.answered_at, problem = excluded.problem",
                    [(a.witness.name, str(a.witness.key), a.size, line, now, a.problem)])

    def _record_round(self, signed_size: int, published: int | None, problem: str | None,
                      high: HighWater | None = None, db: Any = None) -> None:
        if db is None:
            with self.ledger.store.writing() as db:
                self._record_round(signed_size, published, problem, high, db)
            return
        now = format_time(utc_now())
        top = high.highest if high is not None else None
        old = db.all(f"SELECT failing_since, published_size, high_water, high_water_by "
                     f"FROM {db.t('dl_publication')} WHERE id = 1")
        failing_since = None if problem is None else (old[0][0] if old and old[0][0] else now)
        published_size = published if published is not None else (int(old[0][1]) if old else 0)
        high_size = top.size if top is not None and top.size else (int(old[0][2]) if old else 0)
        high_by = top.witness if top is not None and top.size else (old[0][3] if old else None)
        db.many(
            f"INSERT INTO {db.t('dl_publication')} VALUES (1,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (id) DO UPDATE "
            "SET attempted_at = excluded.attempted_at, signed_size = excluded.signed_size, "
            "published_size = excluded.published_size, failing_since = excluded.failing_since, "
            "problem = excluded.problem, high_water = excluded.high_water, high_water_by = excluded.high_water_by",
            [(now, signed_size, published_size, failing_since, problem, high_size, high_by)],
        )

    def status(self) -> PublicationStatus:
        if self.policy is None:
            return PublicationStatus(False, "none")
        with self.ledger.store.reading() as db:
            row = db.all(f"SELECT attempted_at, signed_size, published_size, failing_since, problem, high_water, "
                         f"high_water_by FROM {db.t('dl_publication')} WHERE id = 1")
        witnesses = tuple(self.witness_rows())
        if not row:
            return PublicationStatus(True, self.policy.describe(), witnesses=witnesses)
        r = row[0]
        return PublicationStatus(True, self.policy.describe(), r[0], int(r[1]), int(r[2]), r[3], r[4], int(r[5]),
                                 r[6], witnesses)

    def require_published(self) -> SignedCheckpoint:
        """The latest published checkpoint, never signing; NotWitnessed when none was cosigned yet."""
        latest = self.ledger.latest_checkpoint()
        if latest is None:
            raise NotWitnessed("no checkpoint has been cosigned by a quorum of witnesses yet: "
                               + self.status().describe())
        return latest
