"""The oversight read of a taxpayer's history ("what happened to this taxpayer's data"), the one
path both the JSON API and the dashboard take:

1. the read is recorded first: an ``inspection`` statement (FORMAT § 17.4.10) naming the reader,
   their role and their purpose, signed by the ledger's statement key, its openings sealed, appended
   through the disclosure service — nothing is read if that fails;
2. the views the history reads are caught up to that inspection, for at most a bounded time —
   past it the read fails with ``ViewsBehind`` (recorded, not answered);
3. the history is queried from the views, each inspection in it shown with who read and why.

``ReadSide`` is the one object of the read side a running service holds, built once at start-up:
the views kept up with the log (``projections.live.LiveViews``), this use case, and whether the
stored log re-verifies.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from ledger.authoring import disclosure as dc
from ledger.core.entry import parse_entry
from ledger.core.errors import LedgerError
from ledger.core.statement import parse_statement
from ledger.domain.service import DisclosureService
from ledger.store.ledger import Appended, Ledger
from projections import taxpayer
from projections.live import LiveViews
from projections.queries import Queries

VIEW = "taxpayer_history"  # the inspection's ``view``
CATCH_UP_TIMEOUT = 2.0  # seconds a read waits for the views to include its own inspection
WHOLE_PAGE = 1000  # rows per query when the whole history is read
MAX_WHOLE = 100_000  # events in a whole history, at most


class BadPurpose(LedgerError):
    """The purpose cannot be recorded (empty, too long, not text); the message never repeats it."""


class ViewsBehind(LedgerError):
    """The read was recorded, but the views did not reach its inspection within the bound: nothing
    was read (an answer without the reader's own read would be an incomplete history)."""

    def __init__(self, inspection: int, position: int, timeout: float) -> None:
        super().__init__(f"the read was recorded as entry {inspection}, but the views had applied the log only "
                         f"up to entry {position - 1} after {timeout:g} s; nothing was read")
        self.inspection = inspection
        self.position = position
        self.timeout = timeout


class Reader(Protocol):
    """Who reads: the principal the read is made for, and their role (an API token's ``Principal``)."""

    @property
    def name(self) -> str: ...

    @property
    def role(self) -> str: ...


@dataclass(frozen=True)
class TaxpayerHistory:
    """One oversight read: the inspection that recorded it, the views' position it was read at
    (always past the inspection), and what was read."""

    inspection: Appended
    position: int
    items: list[dict[str, Any]]  # events oldest first, each inspection with ``inspector`` and ``purpose``
    next_after: str | None  # the next page's cursor (None: no more, or the whole history was read)
    counts: dict[str, int] | None = None  # with ``totals``: the history's totals over the range
    blocked: list[dict[str, Any]] | None = None  # with ``totals``: blocked attempts about the taxpayer


@dataclass
class ReadSide:
    """What the service reads with: the views (``views``), the oversight read, the log's re-check.

    ``on_inspection`` is called once per inspection recorded (the API counts them for /metrics).
    """

    ledger: Ledger
    service: DisclosureService
    views: LiveViews
    catch_up_timeout: float = CATCH_UP_TIMEOUT
    on_inspection: Callable[[], None] | None = None
    _verify_lock: threading.Lock = field(default_factory=threading.Lock)
    _verified_size: int = -1
    _verified_ok: bool | None = None
    _verifying: bool = False

    # ---- the oversight read -------------------------------------------------------------------
    def taxpayer_history(self, reader: Reader, subject: str, purpose: str, *, since: date | str | None = None,
                         until: date | str | None = None, limit: int | None = 100, after: str | None = None,
                         totals: bool = False) -> TaxpayerHistory:
        """Record ``reader``'s read of the history of ``subject`` (the taxpayer's pseudonym) for
        ``purpose``, catch the views up to it, then read a page of ``limit`` events after ``after``
        (``limit=None``: the whole history, at most ``MAX_WHOLE`` events) and, with ``totals``, the
        history's totals and blocked attempts.

        Raises ``BadPurpose`` (nothing recorded), the ledger's refusal of the append (nothing
        recorded), ``ViewsBehind`` (recorded, nothing read), the projections' ``BadQuery`` or
        database errors (recorded, nothing read).
        """
        recorded = self._record(reader, subject, purpose)  # before anything is read: fail closed
        position = self.views.catch_up_to(recorded.index, self.catch_up_timeout)  # the reader sees their own read
        if position <= recorded.index:
            raise ViewsBehind(recorded.index, position, self.catch_up_timeout)
        q = self.views.queries
        rng = {"since": since, "until": until}
        if limit is None:
            items, next_after = self._whole(q, subject, since, until), None
        else:
            page = q.taxpayer_history(subject, **rng, limit=limit, after=after)
            items, next_after = page.items, page.next_after
        counts = taxpayer.history_counts(q.views, subject, **rng) if totals else None
        blocked = taxpayer.blocked_attempts(q.views, subject, **rng) if totals else None
        return TaxpayerHistory(recorded, position, self.with_inspectors(items), next_after, counts, blocked)

    def _record(self, reader: Reader, subject: str, purpose: str) -> Appended:
        """Append the inspection of ``subject``'s history by ``reader`` for ``purpose``, signed by the
        ledger's statement key for the reader, its salts from a seed the ledger issued (FORMAT § 13.1)."""
        signer = self.ledger.keys.statement
        seed = self.service.issue_seed(signer.name, "inspection")
        try:
            sub = dc.inspection(signer, view=VIEW, subject_pseudonym=subject, role=reader.role, purpose=purpose,
                                reader=reader.name, seed=seed)
        except LedgerError as e:
            raise BadPurpose(str(e)) from None
        recorded = self.service.submit(sub.note, sub.openings)
        if self.on_inspection is not None:
            self.on_inspection()
        return recorded

    @staticmethod
    def _whole(q: Queries, subject: str, since: date | str | None, until: date | str | None) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        after = None
        while len(rows) < MAX_WHOLE:
            got = q.taxpayer_history(subject, since=since, until=until, limit=WHOLE_PAGE, after=after)
            rows += got.items
            after = got.next_after
            if after is None:
                break
        return rows

    def with_inspectors(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The history's events, each inspection with ``inspector`` (the principal who read: the
        statement's reader, else its signer) and ``purpose`` (opened from the sealed store; null when
        its opening is not there, e.g. erased)."""
        commitments: dict[int, str] = {}
        for e in items:
            if e.get("kind") == "inspection":
                e["inspector"] = e.get("reader") or e.get("signer")
                try:
                    body = parse_statement(parse_entry(self.ledger.entry(e["index"])).statement).body
                    commitments[e["index"]] = str(body["purpose"])
                except (LedgerError, KeyError, IndexError):
                    pass
        try:
            opened = self.service.sealed.get_many(commitments.values()) if commitments else {}
        except LedgerError:
            opened = {}
        for e in items:
            if e.get("kind") == "inspection":
                found = opened.get(commitments.get(e["index"], ""))
                e["purpose"] = found.value if found is not None and isinstance(found.value, str) else None
        return items

    # ---- the other reads ----------------------------------------------------------------------
    def fresh(self) -> Queries:
        """The views' queries after applying the entries appended since (the dashboard's other pages)."""
        return self.views.fresh()

    def log_verified(self) -> tuple[bool | None, int]:
        """Whether the stored log re-verifies (fsck), and the size it had when checked; ``None``
        while the first check runs. A check runs in the background (a large log takes a while),
        again whenever the log has grown since the last one."""

        def run() -> None:
            size = self.ledger.size()
            try:
                ok = self.ledger.fsck().ok
            except Exception:  # shown as "not verified", never as a 500
                ok = False
            with self._verify_lock:
                self._verified_ok, self._verified_size, self._verifying = ok, size, False

        with self._verify_lock:
            start = not self._verifying and self._verified_size != self.ledger.size()
            if start:
                self._verifying = True
        if start:
            threading.Thread(target=run, name="web-fsck", daemon=True).start()
        with self._verify_lock:
            return self._verified_ok, self._verified_size
