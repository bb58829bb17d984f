"""Ingest on the server side: a signed statement arrives with the openings of its commitments.

The service checks that the openings are exactly those the statement commits to and that
every salt derives from the seed the ledger issued for the statement (``ledger.domain.seeds``),
seals them (encrypted at rest) before appending, appends (the rules run in the transaction),
and, for a match result, stores the taxpayer pseudonyms computed from the matched TINs —
so projections never need to decrypt anything. Nothing in clear reaches the log.

A match result is re-derived from the request's openings where the requester's text alone
decides (``ledger.domain.match_check``: address class and usability, the TIN basis, whether an
address was compared); one that disagrees is recorded as `blocked` and refused.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.core.bundle_format import statement_commitments
from ledger.core.commitments import Opening
from ledger.core.errors import LedgerError, SignatureError, TrustError
from ledger.core.statement import Statement, parse_statement
from ledger.core.times import format_time, utc_now
from ledger.domain.bulk import read_chunks
from ledger.domain.match_check import Violation, check_match_head, check_match_lines
from ledger.domain.match_reading import RequestOpenings
from ledger.domain.refusals import AppendRefused, RuleRefusal
from ledger.domain.schemas import check_body
from ledger.domain.seeds import SaltSeeds, check_salts, seed_id_of
from ledger.salts import SaltSeed
from ledger.sealed import SealedKeys, SealedStore
from ledger.sealed.seeds import SeedStore
from ledger.sealed.store import SealedGroup
from ledger.store.ledger import Appended, Ledger

log = logging.getLogger("ledger.service")

# (field, commitment) for every commitment a domain statement carries: one definition, in the
# core, so that the court's verifier checks a bundle's openings against the same list.
body_commitments = statement_commitments


def check_openings(stmt: Statement | Sequence[Statement], openings: Iterable[Opening]) -> dict[str, Opening]:
    """Every commitment of the statements has its opening, and there is no other opening."""
    given = {o.commitment: o for o in openings}
    needed = [fc for s in ([stmt] if isinstance(stmt, Statement) else stmt) for fc in body_commitments(s)]
    for field, commitment in needed:
        opening = given.get(commitment)
        if opening is None:
            raise AppendRefused(f"no opening for the {field} commitment {commitment[:16]}…", "openings.missing")
        if opening.field != field:
            raise AppendRefused(f"the opening of {commitment[:16]}… is for {opening.field}, not {field}",
                                "openings.field")
        if opening.commitment != commitment:  # cannot happen: ``given`` is keyed by it; kept as a guard
            raise AppendRefused(f"the opening of {commitment[:16]}… does not match it", "openings.mismatch")
        # An Opening computes its commitment from its own field, value and salt when it is built
        # (a frozen value), so matching ``given`` by commitment is the check verify_opening makes.
    extra = set(given) - {c for _, c in needed}
    if extra:
        raise AppendRefused(f"{len(extra)} openings match no commitment of the statement", "openings.extra")
    return given


MESSAGES_SHOWN = 10  # violations a refused match result's message lists (its rule ids: all of them)
_PSEUDONYM = re.compile(r"[0-9a-f]{64}\Z")


@dataclass(frozen=True)
class Prepared:
    """A submission checked by :meth:`DisclosureService.prepare`, ready for :meth:`DisclosureService.finish`:
    its notes, parsed statements, pseudonyms by statement id, openings encrypted as
    (commitment, ciphertext) rows and bulk chunks' openings as sealed groups, and the statements
    that carry commitments without a seed (accepted only as exact resubmissions, else refused with
    the rule given), and the match results (or their chunks) that disagree with the request's
    openings, with the violations (recorded as `blocked` by :meth:`DisclosureService.finish`).
    It holds no opening in clear."""

    notes: list[str]
    stmts: list[Statement]
    by_id: dict[str, list[tuple[int, str]]]
    sealed: list[tuple[str, bytes]]
    groups: list[SealedGroup]
    batch: bool
    unseeded: dict[str, str]
    forged: dict[str, list[Violation]] = dataclasses.field(default_factory=dict)


def _match_lines(stmt: Statement) -> list[dict[str, Any]]:
    body = stmt.envelope["body"]
    if stmt.type in ("match_result", "legacy_release") or (stmt.type == "chunk" and body["kind"] == "match_result"):
        return list(body.get("lines", ()))
    return []


class DisclosureService:
    """The write path for § 6103 statements with their openings."""

    def __init__(self, ledger: Ledger, sealed: SealedStore, keys: SealedKeys, seeds: SaltSeeds | None = None) -> None:
        self.ledger = ledger
        self.sealed = sealed
        self.keys = keys
        self.seeds = seeds if seeds is not None else SaltSeeds(ledger, SeedStore(sealed))
        self.requests = RequestOpenings(ledger, sealed)

    def issue_seed(self, principal: str, statement_type: str, statement_id: str | None = None) -> SaltSeed:
        """A salt seed for a signer inside the service (the matcher, the officer's tools, the
        ledger's own inspections); principals outside send a signed request (``seeds.answer``)."""
        return self.seeds.issue(principal, statement_type, statement_id)

    def stages(self, seed_ids: Iterable[str]) -> tuple[Callable[..., Prepared], Callable[[Prepared], list[Appended]]]:
        """(prepare, finish) for statements another process builds (bench/forked.py): prepare, in a
        forked process that must not touch this one's database connections, checks salts against the
        seeds of ``seed_ids`` read here. To check match results it reads the requests through
        connections of its own (``RequestOpenings``), and bulk requests' chunk positions from the
        rules state synced here."""
        held = self.seeds.store.get_many(seed_ids)
        if self.ledger.rules is not None:
            self.ledger.synced_rules()
        requests = RequestOpenings(self.ledger, self.sealed, forked=True)
        return functools.partial(self.prepare, seeds=held, requests=requests), self.finish

    def submit(self, note: str, openings: Sequence[Opening] = ()) -> Appended:
        """Check openings, seal them, append; refusals raise as the ledger's do."""
        return self._submit([note], openings, batch=False)[0]

    def submit_batch(self, notes: Sequence[str], openings: Sequence[Opening] = ()) -> list[Appended]:
        """Several statements (a bulk manifest and its chunks, say) in one transaction, all or none."""
        if not notes:
            return []
        return self._submit(list(notes), openings, batch=True)

    def _submit(self, notes: list[str], openings: Sequence[Opening],
                batch: bool) -> list[Appended]:
        return self.finish(self.prepare(notes, openings, batch))

    def prepare(self, notes: Sequence[str], openings: Sequence[Opening] = (), batch: bool = True,
                seeds: Mapping[str, SaltSeed] | None = None, requests: RequestOpenings | None = None) -> Prepared:
        """The first half of a submission: parse and schema-check the statements, check the openings
        against their commitments and their salts against the seeds, compute the pseudonyms, re-derive
        match results from the request's openings, encrypt the openings. Refusals raise AppendRefused
        and nothing is stored; a match result that disagrees is noted for :meth:`finish`.

        With ``seeds`` and ``requests`` given (``stages``) it touches none of this process's database
        connections and may run in another process of this service (bench/forked.py), batch n+1
        being prepared while :meth:`finish` stores batch n; a Prepared pickles. Without, the seeds
        are read from the sealed store."""
        stmts = []
        for note in notes:
            try:
                stmt = parse_statement(note)
            except LedgerError as e:
                raise AppendRefused(str(e), "statement.shape") from None
            try:
                check_body(stmt.type, stmt.envelope["body"])
            except LedgerError as e:
                raise AppendRefused(str(e), "statement.schema", stmt.id) from None
            stmts.append(stmt)
        by_commitment = check_openings(stmts, openings)
        held = seeds if seeds is not None else self.seeds.lookup(stmts)
        try:
            unseeded = check_salts(stmts, by_commitment, held, format_time(utc_now()))
        except AppendRefused as e:
            if seeds is None:  # in this process: who signed is checked before what they sent
                self._trusted(next(s for s in stmts if s.id == e.statement_id))
            raise
        pseudonyms = [self._pseudonyms(_match_lines(stmt), by_commitment) for stmt in stmts]
        for stmt, found in zip(stmts, pseudonyms, strict=True):
            if stmt.type == "inspection":  # whose history was read: (index, 0, pseudonym) for the projections
                found.append((0, self._subject(stmt, by_commitment)))
        by_id = {stmt.id: found for stmt, found in zip(stmts, pseudonyms, strict=True) if found}
        forged = self._rederive(stmts, by_commitment, requests if requests is not None else self.requests)
        # A bulk chunk's openings are sealed together, as one group named by the chunk's id.
        groups: list[SealedGroup] = []
        grouped: set[str] = set()
        for stmt in stmts:
            if stmt.type == "chunk":
                mine = [by_commitment[c] for _, c in body_commitments(stmt)]
                if mine:
                    groups.append(self.sealed.seal_group(stmt.id, mine))
                    grouped.update(o.commitment for o in mine)
        singles = [o for c, o in by_commitment.items() if c not in grouped]
        return Prepared(list(notes), stmts, by_id, self.sealed.seal_many(singles), groups, batch, unseeded, forged)

    def finish(self, prepared: Prepared) -> list[Appended]:
        """The second half: store the encrypted openings not yet stored, append, carry out erasures.
        Runs in the process that holds the ledger, in submission order."""
        stmts, by_id = prepared.stmts, prepared.by_id
        if prepared.unseeded:  # no seed: only a statement the log already settled passes (the append answers)
            unseeded = [s for s in stmts if s.id in prepared.unseeded]
            stored = self.seeds.settled(unseeded)
            for stmt in unseeded:
                if stmt.id not in stored:
                    self._trusted(stmt)
                    rule = prepared.unseeded[stmt.id]
                    raise AppendRefused(f"{stmt.id} carries commitments, and the ledger holds "
                                        f"{'no' if rule == 'salts.no_seed' else 'only an expired'} salt seed for "
                                        f"{seed_id_of(stmt)}: ask for a seed first (FORMAT § 13.1)", rule, stmt.id)
        if prepared.forged:  # nothing of the submission is stored: the forged statement is recorded as blocked
            self._block(next(s for s in stmts if s.id in prepared.forged), prepared)
        sealed = prepared.sealed
        new = set(c for c, _ in sealed) - self.sealed.present(c for c, _ in sealed) if sealed else set()
        if new:
            self.sealed.put_sealed([row for row in sealed if row[0] in new])
        stored = self.sealed.groups_present(g.group for g in prepared.groups) if prepared.groups else set()
        new_groups = [g for g in prepared.groups if g.group not in stored]
        if new_groups:
            self.sealed.put_groups(new_groups)
        try:
            if not prepared.batch and not by_id:  # one statement: the ledger's group commit
                appended = [self.ledger.append(stmts[0], schema_checked=True)]
            else:  # parsed and schema-checked above; pseudonyms land in the entries' own transaction
                appended = self.ledger.append_parsed(stmts, by_id, schema_checked=True)
        except RuleRefusal as refusal:
            # Stored as a `blocked` entry: the id is taken for good, and so is its seed.
            for stmt in (s for s in stmts if s.id == refusal.statement_id):
                self._quietly(self.seeds.refused, stmt)
            raise
        except AppendRefused:
            # Nothing was stored: keep none of the openings this submission brought. (A rule
            # refusal keeps them: the blocked entry holds the statement's hash, and an audit may
            # need to open it; openings already sealed for a stored statement stay too.)
            if new:
                self.sealed.erase(new)
            if new_groups:
                self.sealed.delete_groups(g.group for g in new_groups)
            raise
        self._quietly(self.seeds.used_up, [s for s, a in zip(stmts, appended, strict=True) if not a.duplicate])
        for stmt in stmts:
            if stmt.type == "erasure":  # the signed erasure landed (no hold applies): drop the openings
                body = stmt.envelope["body"]
                self.sealed.erase(body["commitments"], self._groups_holding(body["request"], body["commitments"]))
        return appended

    @staticmethod
    def _rederive(stmts: Sequence[Statement], openings: Mapping[str, Opening],
                  requests: RequestOpenings) -> dict[str, list[Violation]]:
        """The violations, by statement id, of each match result (inline, a bulk manifest's head, or a
        bulk chunk's lines) re-derived from the request's openings, a request chunk at a time. A result
        whose request or manifest the log does not hold is left to the rules, which refuse it."""
        out: dict[str, list[Violation]] = {}
        for stmt in stmts:
            body = stmt.envelope["body"]
            if stmt.type == "match_result":
                found = check_match_head(body)
                request_id: str | None = body["request"]
                if "bulk" in body:
                    requests.note_manifest(stmt.id, body["request"])
            elif stmt.type == "chunk" and body["kind"] == "match_result":
                found, request_id = [], requests.request_of(body["of"])
            else:
                continue
            lines = body.get("lines") or []
            requested = requests.opened(request_id, (line["line"] for line in lines)) \
                if lines and request_id is not None else None
            if requested is not None:
                tins = {line["line"]: openings[line["taxpayer"]].value for line in lines
                        if line["taxpayer"] is not None}
                found += check_match_lines(lines, requested, tins)
            if found:
                out[stmt.id] = found
        return out

    def _block(self, stmt: Statement, prepared: Prepared) -> None:
        """Record a match result that disagrees with the request's openings as `blocked` (its signers
        checked first: only a validly signed statement is evidence against its key) and raise the
        RuleRefusal. An id the log already settled is left to the append (a duplicate or a refusal)."""
        stored, refused = self.ledger.settled([stmt.id])
        if stmt.id in stored or stmt.id in refused:
            return
        self._trusted(stmt)
        violations = prepared.forged[stmt.id]
        rules = sorted({rule for rule, _ in violations})
        blocked = self.ledger.record_blocked(stmt, rules)
        self._quietly(self.seeds.refused, stmt)
        shown = "; ".join(f"{r}: {m}" for r, m in violations[:MESSAGES_SHOWN])
        more = f" (and {len(violations) - MESSAGES_SHOWN} more)" if len(violations) > MESSAGES_SHOWN else ""
        refusal = RuleRefusal(stmt.id, rules, shown + more)
        refusal.blocked_index = blocked.index
        raise refusal

    def _trusted(self, stmt: Statement) -> None:
        """Refuse, as the append would, a statement whose signers the trust state refuses: a statement
        refused for its salts is refused for its signature first, if that fails too (the rule then
        names the trust failure, as for any other statement)."""
        self.ledger.synced_rules()
        trust = self.ledger.trust_snapshot()
        try:
            trust.check_signatures(stmt, trust.authorize(stmt, trust.size, format_time(utc_now())))
        except (TrustError, SignatureError) as e:
            raise AppendRefused(str(e), getattr(e, "rule", "signature"), stmt.id) from None

    @staticmethod
    def _quietly(step: Callable[[Any], None], arg: Any) -> None:
        """Forget used-up seeds; a failure here leaves them to expire (the statements are stored)."""
        try:
            step(arg)
        except LedgerError as e:
            log.warning("salt seeds not deleted (they expire): %s", type(e).__name__)

    def _pseudonyms(self, lines: list[dict[str, Any]], openings: dict[str, Opening]) -> list[tuple[int, str]]:
        """(line, pseudonym) for each matched line, computed before anything is stored."""
        out = []
        for line in lines:
            if line["taxpayer"] is not None:
                try:
                    out.append((line["line"], self.keys.pseudonym(str(openings[line["taxpayer"]].value))))
                except LedgerError as e:
                    raise AppendRefused(f"line {line['line']}: the matched TIN is not a TIN ({type(e).__name__})",
                                        "openings.tin") from None
        return out

    @staticmethod
    def _subject(stmt: Statement, openings: dict[str, Opening]) -> str:
        value = openings[stmt.envelope["body"]["subject"]].value
        if not isinstance(value, str) or not _PSEUDONYM.match(value):
            raise AppendRefused("an inspection's subject opens to a pseudonym (64 lowercase hex)", "openings.subject")
        return value

    def openings(self, commitments: Iterable[str], groups: Iterable[str] = ()) -> dict[str, Opening]:
        """Openings from the sealed store (an authorised, audited path only); ``groups``: the ids of
        the bulk chunks that may hold some of them."""
        return self.sealed.get_many(commitments, groups)

    def _groups_holding(self, request_id: str, commitments: Iterable[str]) -> list[str]:
        """The ids of the request's bulk chunks (its own, its match results', reviews', releases')
        whose commitments include any of ``commitments``: where an erasure must look."""
        state = self.ledger.rules.state if self.ledger.rules is not None else None
        if state is None:
            return []
        targets = set(commitments)
        ids = []
        for sid in [s for s, r in state.bulk_requests.items() if r == request_id]:
            for _, chunk in read_chunks(self.ledger, state.parts.get(sid, [])):
                if any(c in targets for _, c in body_commitments(chunk)):
                    ids.append(chunk.id)
        return ids
