"""Ingest on the server side: a signed statement arrives with the openings of its commitments.

The service checks that the openings are exactly those the statement commits to, seals
them (encrypted at rest) before appending, appends (the rules run in the transaction),
and, for a match result, stores the taxpayer pseudonyms computed from the matched TINs —
so projections never need to decrypt anything. Nothing in clear reaches the log.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.bundle_format import statement_commitments
from ledger.commitments import Opening
from ledger.domain.bulk import read_chunks
from ledger.domain.schemas import check_body
from ledger.errors import LedgerError
from ledger.sealed import SealedKeys, SealedStore
from ledger.sealed.store import SealedGroup
from ledger.statement import Statement, parse_statement
from ledger.store.chain import Appended
from ledger.store.errors import AppendRefused
from ledger.store.ledger import Ledger

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


_PSEUDONYM = re.compile(r"[0-9a-f]{64}\Z")


@dataclass(frozen=True)
class Prepared:
    """A submission checked by :meth:`DisclosureService.prepare`, ready for :meth:`DisclosureService.finish`:
    its notes, parsed statements, pseudonyms by statement id, openings encrypted as
    (commitment, ciphertext) rows and bulk chunks' openings as sealed groups. It holds no opening
    in clear."""

    notes: list[str]
    stmts: list[Statement]
    by_id: dict[str, list[tuple[int, str]]]
    sealed: list[tuple[str, bytes]]
    groups: list[SealedGroup]
    batch: bool


def _match_lines(stmt: Statement) -> list[dict[str, Any]]:
    body = stmt.envelope["body"]
    if stmt.type == "match_result" or (stmt.type == "chunk" and body["kind"] == "match_result"):
        return list(body.get("lines", ()))
    return []


class DisclosureService:
    """The write path for § 6103 statements with their openings."""

    def __init__(self, ledger: Ledger, sealed: SealedStore, keys: SealedKeys) -> None:
        self.ledger = ledger
        self.sealed = sealed
        self.keys = keys

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

    def prepare(self, notes: Sequence[str], openings: Sequence[Opening] = (), batch: bool = True) -> Prepared:
        """The first half of a submission, which touches no database: parse and schema-check the
        statements, check the openings against their commitments, compute the pseudonyms, encrypt
        the openings. Refusals raise AppendRefused and nothing is stored.

        It may run in another process of this service (``ledger.domain.forked``), batch n+1 being
        prepared while :meth:`finish` stores batch n; a Prepared pickles."""
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
        pseudonyms = [self._pseudonyms(_match_lines(stmt), by_commitment) for stmt in stmts]
        for stmt, found in zip(stmts, pseudonyms, strict=True):
            if stmt.type == "inspection":  # whose history was read: (index, 0, pseudonym) for the projections
                found.append((0, self._subject(stmt, by_commitment)))
        by_id = {stmt.id: found for stmt, found in zip(stmts, pseudonyms, strict=True) if found}
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
        return Prepared(list(notes), stmts, by_id, self.sealed.seal_many(singles), groups, batch)

    def finish(self, prepared: Prepared) -> list[Appended]:
        """The second half: store the encrypted openings not yet stored, append, carry out erasures.
        Runs in the process that holds the ledger, in submission order."""
        stmts, by_id, notes = prepared.stmts, prepared.by_id, prepared.notes
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
                appended = [self.ledger.append(notes[0])]
            else:  # parsed and schema-checked above; pseudonyms land in the entries' own transaction
                appended = self.ledger.append_parsed(stmts, by_id, schema_checked=True)
        except AppendRefused:
            # Nothing was stored: keep none of the openings this submission brought. (A rule
            # refusal keeps them: the blocked entry holds the statement's hash, and an audit may
            # need to open it; openings already sealed for a stored statement stay too.)
            if new:
                self.sealed.erase(new)
            if new_groups:
                self.sealed.delete_groups(g.group for g in new_groups)
            raise
        for stmt in stmts:
            if stmt.type == "erasure":  # the signed erasure landed (no hold applies): drop the openings
                body = stmt.envelope["body"]
                self.sealed.erase(body["commitments"], self._groups_holding(body["request"], body["commitments"]))
        return appended

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
        state = getattr(self.ledger.recorder.chain.rules, "state", None)
        if state is None:
            return []
        targets = set(commitments)
        ids = []
        for sid in [s for s, r in state.bulk_requests.items() if r == request_id]:
            for _, chunk in read_chunks(self.ledger, state.parts.get(sid, [])):
                if any(c in targets for _, c in body_commitments(chunk)):
                    ids.append(chunk.id)
        return ids
