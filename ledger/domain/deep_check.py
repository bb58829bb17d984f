"""`verify --deep`: the tables the disclosure service keeps beside the log, checked against it.

The log holds only commitments; the service also keeps, in the same database,

* the sealed store (``sealed_openings``, ``sealed_groups``): the encrypted opening of every
  commitment, filed under the commitment, or for a bulk chunk in one group named by the chunk's id;
* ``dl_pseudonyms``: the taxpayer pseudonym (HMAC of the matched TIN under the pseudonym key) of
  each matched line of a match result, and the subject of an inspection as line 0.

Nothing in the log's hashes or signatures covers those rows, so ``fsck`` cannot see them changed.
This checker, holding the sealed-store keys, decrypts every opening and re-hashes it to the
commitment it is filed under; finds that commitment in the logged statement it belongs to (and
every logged commitment's opening, unless a logged erasure removed it); recomputes every pseudonym
from the opened TIN and compares it with the stored row; and refuses pseudonym rows no entry
explains. Some openings belong to no logged statement: a statement a rule refused keeps them for
audit (its `blocked` entry holds only its hash), and a submission cut short between sealing and
appending leaves them until it is resubmitted. They must still decrypt and re-hash to the
commitment they are filed under, and are counted apart. It reads only; its messages name indices,
line numbers, fields, hashes and tables, never a value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from ledger.core.bundle_format import statement_commitments
from ledger.core.commitments import Opening
from ledger.core.entry import parse_entry
from ledger.core.errors import LedgerError
from ledger.core.statement import Statement, parse_statement
from ledger.domain.service import _match_lines
from ledger.sealed.box import OpeningBox
from ledger.sealed.keys import SealedKeys
from ledger.sealed.store import GROUPS_TABLE, KEY_IDS_TABLE, OPENINGS_TABLE, sealed_database

PSEUDONYMS_TABLE = "dl_pseudonyms"
PAGE = 500  # entries per step: their openings, groups and pseudonym rows are read together
IN_BATCH = 500  # keys per IN (...) list
_FAR = 2**62  # beyond any index: the bounds of "every row past the log"

# A DB-API cursor, opened and closed by the context manager the provider returns.


class DeepCheckError(LedgerError):
    """The first problem found: at an entry (``index``) or in a table (``table``), never with a value."""

    def __init__(self, message: str, index: int | None = None, table: str | None = None) -> None:
        self.index = index
        self.table = table
        super().__init__(message)

    @property
    def where(self) -> str:
        """``entry N`` or ``TABLE``, as the CLI prints it after ``FAILED (deep) at``/``in``."""
        return f"at entry {self.index}" if self.index is not None else f"in {self.table}"


@dataclass
class DeepReport:
    """What the deep check established, or the first problem."""

    openings: int = 0  # openings decrypted and re-hashed to the commitment they are filed under
    unlogged: int = 0  # of those, openings of statements not in the log (refused by a rule, or cut short)
    pseudonyms: int = 0  # pseudonym rows recomputed from the opened value and found equal
    erased: int = 0  # logged commitments without an opening because a logged erasure removed it
    problems: list[DeepCheckError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def describe(self) -> str:
        """The success line: what was recomputed."""
        extra = []
        if self.unlogged:
            extra.append(f"{self.unlogged} of them of no logged statement: refused by a rule, or cut short")
        if self.erased:
            extra.append(f"{self.erased} logged commitments erased")
        return (f"deep: {self.openings} openings re-hash to their commitments, {self.pseudonyms} pseudonyms "
                "recomputed" + (f" ({'; '.join(extra)})" if extra else ""))


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


@dataclass
class _Expected:
    """What one page of entries asks of the side tables."""

    singles: dict[str, tuple[int, str]] = field(default_factory=dict)  # commitment -> (index, field)
    chunks: dict[str, tuple[int, list[tuple[str, str]]]] = field(default_factory=dict)  # id -> (index, slots)
    pseudonyms: dict[tuple[int, int], str] = field(default_factory=dict)  # (index, line) -> commitment
    inspections: set[tuple[int, int]] = field(default_factory=set)  # (index, 0): the value is the pseudonym


class DeepChecker:
    """Checks the sealed store and ``dl_pseudonyms`` of the database at ``db_url`` against ``ledger``'s
    entries (read through its public reads: ``size``, ``iter_entries``)."""

    def __init__(self, ledger: Any, db_url: str, keys: SealedKeys) -> None:
        self.ledger = ledger
        self.keys = keys
        self._box = OpeningBox(keys.sealed_key)
        database = sealed_database(db_url)
        self.schema = database.schema
        is_sqlite = database.url.get_backend_name() == "sqlite"
        # The ledger's writer may hold SQLite's lock: wait for it as the sealed store does.
        self.engine = sa.create_engine(database.url, hide_parameters=True,
                                       connect_args={"timeout": 30} if is_sqlite else {})
        self.openings = sa.table(OPENINGS_TABLE, sa.column("commitment"), sa.column("ciphertext"),
                                 schema=self.schema)
        self.groups = sa.table(GROUPS_TABLE, sa.column("grp"), sa.column("ciphertext"), sa.column("openings"),
                               schema=self.schema)
        self.key_ids = sa.table(KEY_IDS_TABLE, sa.column("purpose"), sa.column("key_id"), schema=self.schema)
        self.erased: set[str] = set()
        self.missing: list[tuple[int, str, str]] = []  # (index, field, commitment) with no opening stored
        self.seen_singles: set[str] = set()
        self.seen_groups: set[str] = set()
        self._has_openings = self._has_groups = self._has_key_ids = self._has_pseudonyms = False

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def run(self, progress: Callable[[int], None] | None = None, size: int | None = None) -> DeepReport:
        """Check entries 0 … ``size``−1 (None: the log's size now) and the side tables; stop at the first
        problem (in ``report.problems``). Entries appended meanwhile are not checked, and their openings
        count as of no logged statement; their pseudonym rows are not orphans."""
        report = DeepReport()
        try:
            with self.engine.connect() as conn:
                present = set(sa.inspect(conn).get_table_names(schema=self.schema))
            self._has_openings = OPENINGS_TABLE in present
            self._has_groups = GROUPS_TABLE in present
            self._has_key_ids = KEY_IDS_TABLE in present
            self._has_pseudonyms = PSEUDONYMS_TABLE in present
            size = self.ledger.size() if size is None else size
            page: list[tuple[int, Statement]] = []
            for index, data in self.ledger.iter_entries(0, size):
                page.append((index, parse_statement(parse_entry(data).statement)))
                if len(page) == PAGE:
                    self._check_page(page, report, progress)
                    page = []
            if page:
                self._check_page(page, report, progress)
            self._check_missing(report)
            self._check_unlogged(report)
            if self._has_pseudonyms:
                size = max(size, self.ledger.size())  # rows of entries appended meanwhile are no orphans
                for lo, hi in ((-_FAR, 0), (size, _FAR)):
                    rows = self.ledger.pseudonym_rows(lo, hi)
                    if rows:
                        idx, line, _ = rows[0]
                        raise DeepCheckError(f"{PSEUDONYMS_TABLE} holds a row (line {line}) for an entry that "
                                             f"does not exist (the log has {size} entries)", idx)
        except DeepCheckError as e:
            report.problems.append(e)
        except (SQLAlchemyError, self.engine.dialect.loaded_dbapi.Error) as e:
            # Only the error's class: a driver's message may quote a row's values.
            report.problems.append(DeepCheckError(f"database error ({type(e).__name__})", table="the database"))
        return report

    # ---- one page of entries ---------------------------------------------------------------
    def _expected(self, page: list[tuple[int, Statement]]) -> _Expected:
        want = _Expected()
        for index, stmt in page:
            slots = statement_commitments(stmt)
            if stmt.type == "chunk":
                if slots:
                    want.chunks[stmt.id] = (index, slots)
            else:
                for fld, commitment in slots:
                    want.singles.setdefault(commitment, (index, fld))
            if stmt.type == "erasure":
                self.erased.update(c for c in stmt.envelope["body"].get("commitments", ()) if isinstance(c, str))
            if stmt.type == "inspection" and isinstance(stmt.envelope["body"].get("subject"), str):
                want.pseudonyms[(index, 0)] = stmt.envelope["body"]["subject"]
                want.inspections.add((index, 0))
            for line in _match_lines(stmt):  # the lines the service computes pseudonyms for
                if isinstance(line, dict) and isinstance(line.get("taxpayer"), str):
                    want.pseudonyms[(index, int(line["line"]))] = line["taxpayer"]
        return want

    def _check_page(self, page: list[tuple[int, Statement]], report: DeepReport,
                    progress: Callable[[int], None] | None) -> None:
        want = self._expected(page)
        opened = self._open_singles(want, report)
        opened.update(self._open_chunks(want, report))
        self._check_pseudonyms(page[0][0], page[-1][0] + 1, want, opened, report)
        if progress:
            progress(len(page))

    def _open_singles(self, want: _Expected, report: DeepReport) -> dict[str, Opening]:
        """Decrypt the openings of the page's commitments filed one by one; note the missing ones."""
        opened: dict[str, Opening] = {}
        wanted = list(want.singles)
        if self._has_openings:
            with self.engine.connect() as conn:
                for batch in _chunks(wanted, IN_BATCH):
                    query = sa.select(self.openings.c.commitment, self.openings.c.ciphertext).where(
                        self.openings.c.commitment.in_(batch))
                    for commitment, ciphertext in conn.execute(query):
                        index, fld = want.singles[str(commitment)]
                        opened[str(commitment)] = self._unseal(str(commitment), bytes(ciphertext), index, fld)
        report.openings += len(opened)
        self.seen_singles.update(opened)
        self.missing.extend((index, fld, c) for c, (index, fld) in want.singles.items() if c not in opened)
        return opened

    def _unseal(self, commitment: str, ciphertext: bytes, index: int | None, fld: str | None) -> Opening:
        try:
            return self._box.unseal(commitment, ciphertext)
        except LedgerError as e:  # SealedDecryptionError, OpeningMismatch, CommitmentFormatError: no value
            what = f"the {fld} opening of commitment {commitment[:16]}…" if fld else "an opening"
            raise DeepCheckError(f"{OPENINGS_TABLE}: {what} does not open: {e}{self._key_hint('sealed')}",
                                 index, OPENINGS_TABLE) from None

    def _open_chunks(self, want: _Expected, report: DeepReport) -> dict[str, Opening]:
        """Decrypt the groups of the page's bulk chunks; each must hold exactly its chunk's openings
        (less erased ones), and say how many it holds."""
        opened: dict[str, Opening] = {}
        found: set[str] = set()
        if self._has_groups:
            with self.engine.connect() as conn:
                for batch in _chunks(list(want.chunks), 16):
                    query = sa.select(self.groups.c.grp, self.groups.c.ciphertext, self.groups.c.openings).where(
                        self.groups.c.grp.in_(batch))
                    for grp, ciphertext, count in conn.execute(query):
                        index, slots = want.chunks[str(grp)]
                        held = self._unseal_group(str(grp), bytes(ciphertext), int(count), index)
                        carried = {c for _, c in slots}
                        for o in held:
                            if o.commitment not in carried:
                                raise DeepCheckError(
                                    f"{GROUPS_TABLE}: the group of chunk {grp} holds a {o.field} opening of "
                                    f"commitment {o.commitment[:16]}…, which the chunk does not carry",
                                    index, GROUPS_TABLE)
                            opened[o.commitment] = o
                        found.add(str(grp))
        report.openings += len(opened)
        self.seen_groups.update(found)
        for index, slots in want.chunks.values():
            self.missing.extend((index, fld, c) for fld, c in slots if c not in opened)
        return opened

    def _unseal_group(self, grp: str, ciphertext: bytes, count: int, index: int | None) -> list[Opening]:
        try:
            held = self._box.unseal_group(grp, ciphertext)
        except LedgerError as e:
            raise DeepCheckError(f"{GROUPS_TABLE}: {e}{self._key_hint('sealed')}", index, GROUPS_TABLE) from None
        if count != len(held):
            raise DeepCheckError(f"{GROUPS_TABLE}: the row of group {grp} says it holds {count} openings, "
                                 f"its ciphertext holds {len(held)}", index, GROUPS_TABLE)
        return held

    def _check_pseudonyms(self, lo: int, hi: int, want: _Expected, opened: dict[str, Opening],
                          report: DeepReport) -> None:
        stored = {(i, k): p for i, k, p in self.ledger.pseudonym_rows(lo, hi)} \
            if self._has_pseudonyms else {}
        for (index, line), commitment in sorted(want.pseudonyms.items()):
            row = stored.get((index, line))
            if row is None:
                raise DeepCheckError(f"{PSEUDONYMS_TABLE} has no row for line {line}, which names a "
                                     f"{'subject' if (index, line) in want.inspections else 'matched taxpayer'}",
                                     index, PSEUDONYMS_TABLE)
            opening = opened.get(commitment)
            if opening is None:  # no opening (erased, or reported missing at the end): nothing to recompute
                continue
            if (index, line) in want.inspections:
                expected = opening.value if isinstance(opening.value, str) else None
            else:
                try:
                    expected = self.keys.pseudonym(str(opening.value))
                except LedgerError:
                    raise DeepCheckError(f"the tin opening of line {line} (commitment {commitment[:16]}…) "
                                         "is not a TIN", index, OPENINGS_TABLE) from None
            if row != expected:
                raise DeepCheckError(f"{PSEUDONYMS_TABLE} row for line {line} differs from the pseudonym "
                                     f"recomputed from its opening{self._key_hint('pseudonym')}",
                                     index, PSEUDONYMS_TABLE)
            report.pseudonyms += 1
        for index, line in sorted(set(stored) - set(want.pseudonyms)):
            raise DeepCheckError(f"{PSEUDONYMS_TABLE} holds a row for line {line}, which names no matched "
                                 "taxpayer or inspected subject", index, PSEUDONYMS_TABLE)

    # ---- after the last entry ----------------------------------------------------------------
    def _check_missing(self, report: DeepReport) -> None:
        """Every logged commitment has its opening stored, unless a logged erasure removed it."""
        for index, fld, commitment in self.missing:
            if commitment in self.erased:
                report.erased += 1
                continue
            raise DeepCheckError(f"no opening is stored for its {fld} commitment {commitment[:16]}… "
                                 f"({OPENINGS_TABLE} / {GROUPS_TABLE}), and no logged erasure names it",
                                 index, OPENINGS_TABLE)

    def _check_unlogged(self, report: DeepReport) -> None:
        """Openings filed for no logged statement (a rule-refused statement's, kept for audit) must still
        decrypt and re-hash to the commitment they are filed under."""
        with self.engine.connect() as conn:
            if self._has_openings:
                keys = [str(c) for (c,) in conn.execute(sa.select(self.openings.c.commitment))]
                rest = [c for c in keys if c not in self.seen_singles]
                for batch in _chunks(rest, IN_BATCH):
                    query = sa.select(self.openings.c.commitment, self.openings.c.ciphertext).where(
                        self.openings.c.commitment.in_(batch))
                    for commitment, ciphertext in conn.execute(query):
                        self._unseal(str(commitment), bytes(ciphertext), None, None)
                        report.openings += 1
                        report.unlogged += 1
            if self._has_groups:
                names = [str(g) for (g,) in conn.execute(sa.select(self.groups.c.grp))]
                rest = [g for g in names if g not in self.seen_groups]
                for batch in _chunks(rest, 16):
                    query = sa.select(self.groups.c.grp, self.groups.c.ciphertext, self.groups.c.openings).where(
                        self.groups.c.grp.in_(batch))
                    for grp, ciphertext, count in conn.execute(query):
                        held = self._unseal_group(str(grp), bytes(ciphertext), int(count), None)
                        report.openings += len(held)
                        report.unlogged += len(held)

    def _key_hint(self, purpose: str) -> str:
        """When the loaded key is not the one the database records, say so: the likelier cause."""
        if not self._has_key_ids:
            return ""
        loaded = self.keys.sealed_key_id if purpose == "sealed" else self.keys.pseudonym_key_id
        with self.engine.connect() as conn:
            recorded = conn.execute(sa.select(self.key_ids.c.key_id).where(
                self.key_ids.c.purpose == purpose)).scalar_one_or_none()
        if recorded is None or recorded == loaded:
            return ""
        return f" (the loaded {purpose} key has id {loaded}, this database records {recorded}: wrong keys?)"


def deep_check(ledger: Any, db_url: str, keys: SealedKeys, progress: Callable[[int], None] | None = None,
               size: int | None = None) -> DeepReport:
    """Run the deep check of the database at ``db_url`` against ``ledger``'s first ``size`` entries (None:
    all); never writes."""
    checker = DeepChecker(ledger, db_url, keys)
    try:
        return checker.run(progress, size)
    finally:
        checker.close()
