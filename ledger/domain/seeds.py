"""The ledger's side of salt seeds (docs/FORMAT.md § 13.1): issuing a seed to a principal for one
statement, checking at submission that every salt of the statement's commitments derives from it,
and forgetting the seed once the statement is in the log.

* **Issue.** A seed is issued to a principal whose key is active now and holds a role the policy
  allows to sign the statement's type, for a statement id the log has not used. A principal's own
  client asks with a signed seed request (``answer``: the seed comes back sealed to its key);
  signers inside the service (the matcher, the officer's tools, the ledger's own inspections) call
  ``issue``. Asking again for the same id with the same principal and type returns the same seed
  while it lasts (a client that lost the answer may ask again); another principal or type is refused.
* **Check** (``check_salts``, CPU only: it runs where the service checks openings). A statement that
  carries commitments needs the unexpired seed of its id (a bulk chunk: its manifest's), issued to
  one of its signers for its type, and every salt must be the derived one (rule ``salts.derivation``).
  A statement without a seed is let through only as an exact resubmission of a stored statement
  (or one a rule refused, whose id the ledger refuses again).
* **Use up.** When the statement lands (or a rule refuses it into a ``blocked`` entry), its id is
  taken for good and the seed is deleted (in batches); a bulk statement's seed, at its last chunk. A statement
  refused before the append (signature, schema, openings, salts) stores nothing: the seed stays, and
  the same id may be submitted again until the seed expires. Expired seeds are swept.
"""

from __future__ import annotations

import hmac
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from ledger.core.bundle_format import commitment_slots
from ledger.core.commitments import Opening
from ledger.core.errors import LedgerError
from ledger.core.note import verify_exactly
from ledger.core.statement import Statement
from ledger.core.times import format_time, utc_now
from ledger.core.trust import KeyRecord
from ledger.domain.refusals import AppendRefused
from ledger.salts import SEEDED_TYPES, SaltDeriver, SaltSeed, SeedError, parse_seed_request, seed_answer
from ledger.sealed.seeds import SeedStore

DEFAULT_TTL = timedelta(days=1)
MAX_OPEN_SEEDS = 1000  # unexpired seeds one principal may hold (seed requests from outside)
REQUEST_SKEW = timedelta(minutes=5)  # a seed request's issued_at is this close to the ledger's clock
SWEEP_SECONDS = 60.0
FORGET_SECONDS = 1.0  # used-up seeds are deleted in one transaction at most this often (or 256 at a time)
FORGET_BATCH = 256


class SeedRefused(LedgerError):
    """A seed the ledger will not issue; ``rule`` names why (FORMAT § 13.1). Nothing is stored."""

    def __init__(self, message: str, rule: str) -> None:
        self.rule = rule
        super().__init__(message)


def seed_id_of(stmt: Statement) -> str:
    """The statement id whose seed derives this statement's salts: a chunk's manifest, else its own."""
    return str(stmt.envelope["body"].get("of")) if stmt.type == "chunk" else stmt.id


def _kind(stmt: Statement) -> str:
    return str(stmt.envelope["body"].get("kind")) if stmt.type == "chunk" else stmt.type


def check_salts(stmts: Sequence[Statement], by_commitment: Mapping[str, Opening],
                seeds: Mapping[str, SaltSeed], now: str) -> dict[str, str]:
    """Refuse (AppendRefused ``salts.*``) a statement whose salts are not derived from its seed.

    Returns the statements that carry commitments but have no usable seed, by id, with the rule
    that refuses them unless they are exact resubmissions (``salts.no_seed``, ``salts.expired``).
    ``by_commitment``: the submission's openings, already matched to the statements' commitments.
    """
    unseeded: dict[str, str] = {}
    for stmt in stmts:
        slots = commitment_slots(stmt)
        if not slots:
            continue
        sid = seed_id_of(stmt)
        seed = seeds.get(sid)
        if seed is None or seed.expires_at < now:
            unseeded[stmt.id] = "salts.no_seed" if seed is None else "salts.expired"
            continue
        if seed.principal not in stmt.signers:
            raise AppendRefused(f"the seed of {sid} was issued to {seed.principal}, who does not sign {stmt.id}",
                                "salts.principal", stmt.id)
        if seed.statement_type != _kind(stmt):
            raise AppendRefused(f"the seed of {sid} was issued for a {seed.statement_type}, not a {_kind(stmt)}",
                                "salts.type", stmt.id)
        derive = SaltDeriver(seed.seed)
        for slot in slots:
            if not hmac.compare_digest(by_commitment[slot.commitment].salt,
                                       derive(slot.field, slot.line, slot.position)):
                where = "the head" if slot.line is None else f"line {slot.line}"
                raise AppendRefused(
                    f"the salt of the {slot.field} commitment {slot.commitment[:16]}… ({where}) is not the one "
                    f"derived from the seed the ledger issued for {sid}", "salts.derivation", stmt.id)
    return unseeded


class SaltSeeds:
    """Issues seeds, looks them up, and deletes them once used up."""

    def __init__(self, ledger: Any, store: SeedStore, ttl: timedelta = DEFAULT_TTL,
                 max_open: int = MAX_OPEN_SEEDS) -> None:
        self.ledger = ledger
        self.store = store
        self.ttl = ttl
        self.max_open = max_open
        self._swept = 0.0
        self._lock = threading.Lock()
        self._used: list[str] = []  # used up, not yet deleted
        self._forgot = time.monotonic()

    # ---- issue ---------------------------------------------------------------------------------
    def issue(self, principal: str, statement_type: str, statement_id: str | None = None) -> SaltSeed:
        """A seed for a signer inside the service (the matcher, the officer's tools, the ledger's key).

        Checked against the trust state as a seed request is, without a signature: the caller
        runs with the service's own rights. ``statement_id`` None: a fresh UUID."""
        self._principal(principal, statement_type)
        return self._issue(principal, statement_type, statement_id or str(uuid.uuid4()), fresh=statement_id is None)

    def answer(self, note: str) -> dict[str, str]:
        """Answer a principal's signed seed request: the seed sealed to the key that signed it."""
        try:
            req = parse_seed_request(note)
        except SeedError as e:
            raise SeedRefused(str(e), "salts.request") from None
        if req.origin != self.ledger.origin:
            raise SeedRefused(f"the seed request names origin {req.origin[:128]!r}, this ledger is "
                              f"{self.ledger.origin!r}", "salts.origin")
        if abs(req.issued_at - utc_now()) > REQUEST_SKEW:
            raise SeedRefused(f"the seed request's issued_at is more than {REQUEST_SKEW} from the ledger's clock",
                              "salts.request_time")
        record = self._principal(req.principal, req.statement_type)
        try:
            verify_exactly(req.note, [record.key])
        except LedgerError as e:
            raise SeedRefused(f"the seed request's signature: {e}", "salts.signature") from None
        seed = self._issue(req.principal, req.statement_type, req.statement_id, fresh=False)
        return seed_answer(seed, record.key)

    def _principal(self, name: str, statement_type: str) -> KeyRecord:
        if statement_type not in SEEDED_TYPES:
            raise SeedRefused(f"no seed for a {statement_type[:40]!r}: only {', '.join(sorted(SEEDED_TYPES))} "
                              "carry commitments", "salts.type")
        self.ledger.synced_rules()  # the trust state at the log's head
        trust = self.ledger.trust_snapshot()
        record: KeyRecord | None = trust.current(name)
        if record is None:
            known = trust.keys.get(name)
            rule = "salts.revoked_key" if known else "salts.unknown_key"
            raise SeedRefused(f"{name} has no active key in this ledger", rule)
        allowed = trust.policy.get(statement_type, ())
        if not set(record.roles) & set(allowed):
            raise SeedRefused(f"{name} has roles {list(record.roles)}; a {statement_type} needs one of "
                              f"{list(allowed)}", "salts.role")
        return record

    def _issue(self, principal: str, statement_type: str, statement_id: str, fresh: bool) -> SaltSeed:
        now = utc_now()
        stamp = format_time(now)
        self._sweep(stamp)
        if not fresh:
            if self._id_used(statement_id):
                raise SeedRefused(f"statement id {statement_id} is already used in the log", "salts.id_used")
            held = self.store.get_many([statement_id]).get(statement_id)
            if held is not None and held.expires_at >= stamp:
                if (held.principal, held.statement_type) != (principal, statement_type):
                    raise SeedRefused(f"a seed for statement id {statement_id} was issued to another principal "
                                      "or type", "salts.id_taken")
                return held  # the same request again: the same seed (its answer was lost, say)
            if held is not None:
                self.store.delete([statement_id])  # expired, never used: the id may have a new seed
            if self.store.open_count(principal, stamp) >= self.max_open:
                raise SeedRefused(f"{principal} holds {self.max_open} unused seeds; use or let them expire",
                                  "salts.too_many")
        seed = SaltSeed.local(statement_id, statement_type, principal)
        seed = SaltSeed(statement_id, statement_type, principal, seed.seed, format_time(now + self.ttl))
        if not self.store.put(seed, stamp):
            raise SeedRefused(f"a seed for statement id {statement_id} was issued meanwhile", "salts.id_taken")
        return seed

    def _sweep(self, stamp: str) -> None:
        with self._lock:
            if time.monotonic() - self._swept < SWEEP_SECONDS:
                return
            self._swept = time.monotonic()
        self.store.sweep(stamp)

    def _id_used(self, statement_id: str) -> bool:
        stored, refused = self.ledger.settled([statement_id])
        return bool(stored or refused)

    # ---- look up, check resubmissions, use up -----------------------------------------------------
    def lookup(self, stmts: Iterable[Statement]) -> dict[str, SaltSeed]:
        """The stored seeds the statements' salts derive from (by seed id)."""
        wanted = [seed_id_of(s) for s in stmts if may_commit(s)]
        return self.store.get_many(wanted) if wanted else {}

    def settled(self, stmts: Sequence[Statement]) -> set[str]:
        """The ids of those statements the log already settled: stored byte for byte (the append returns
        the original entry) or refused by a rule (the append refuses the id again). Either way nothing new
        is stored, so no seed is needed."""
        if not stmts:
            return set()
        from ledger.core.entry import parse_entry

        by_id = {s.id: s for s in stmts}
        settled: tuple[dict[str, bytes], set[str]] = self.ledger.settled(list(by_id))
        stored, refused = settled
        same: set[str] = {sid for sid, data in stored.items() if parse_entry(data).statement == by_id[sid].raw}
        return same | refused

    def used_up(self, stmts: Iterable[Statement]) -> None:
        """Delete the seeds these stored (or blocked) statements used up: an inline statement's at
        once, a bulk statement's when its last chunk is in (the rules no longer list it as open)."""
        state = self.ledger.rules.state if self.ledger.rules is not None else None
        open_bulk = getattr(state, "bulk", None)  # None: no rules engine to say; the seed then expires
        done = []
        for stmt in stmts:
            if stmt.type in SEEDED_TYPES and "bulk" not in stmt.envelope["body"]:
                done.append(stmt.id)
            elif stmt.type == "chunk" and _kind(stmt) in SEEDED_TYPES and open_bulk is not None \
                    and seed_id_of(stmt) not in open_bulk:
                done.append(seed_id_of(stmt))
        self._forget(done)

    def refused(self, stmt: Statement) -> None:
        """A rule refused ``stmt`` into a ``blocked`` entry: its id (and so its seed) is taken for good.
        A refused chunk takes only its own id: its bulk statement may still be completed by another."""
        if may_commit(stmt) and stmt.type != "chunk":
            self._forget([stmt.id])

    def _forget(self, ids: list[str]) -> None:
        """Delete used-up seeds, a batch at a time (one transaction, not one per statement: an inline
        statement already costs the append's and the openings' commits). A seed waiting here is never
        used again — its id is taken in the log — and one lost with the process expires."""
        with self._lock:
            self._used.extend(ids)
            due = len(self._used) >= FORGET_BATCH or time.monotonic() - self._forgot >= FORGET_SECONDS
            if not due or not self._used:
                return
            batch, self._used, self._forgot = self._used, [], time.monotonic()
        self.store.delete(batch)

    def flush(self) -> None:
        """Delete the used-up seeds still waiting (``_forget``) now."""
        with self._lock:
            batch, self._used, self._forgot = self._used, [], time.monotonic()
        if batch:
            self.store.delete(batch)


def may_commit(stmt: Statement) -> bool:
    """Whether the statement may carry commitments (its type, or its chunk's kind, is seeded)."""
    return _kind(stmt) in SEEDED_TYPES
