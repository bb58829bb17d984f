"""A taxpayer's history as the JSON API and the dashboard both serve it: the read recorded first as an
``inspection`` naming the reader (the token's principal), their role and their purpose — one function,
so both record the same statement — and the inspections in the history shown with who read and why
(the purpose is a commitment in the log; its opening is in the sealed store).
"""

from __future__ import annotations

from typing import Any

from api.state import AppState
from api.tokens import Principal
from ledger.authoring import disclosure as dc
from ledger.core.entry import parse_entry
from ledger.core.errors import LedgerError
from ledger.core.statement import parse_statement

VIEW = "taxpayer_history"


class BadPurpose(LedgerError):
    """The purpose cannot be recorded (empty, too long, not text); the message never repeats it."""


def record_inspection(state: AppState, reader: Principal, subject: str, purpose: str) -> Any:
    """Append the inspection of ``subject``'s history by ``reader`` for ``purpose`` (signed by the
    ledger's statement key, for the reader); returns the appended entry. Raises LedgerError when the
    purpose is invalid (BadPurpose) or the append is refused — then nothing may be read."""
    signer = state.ledger.keys.statement
    seed = state.service.issue_seed(signer.name, "inspection")  # the inspection's salts: FORMAT § 13.1
    try:
        sub = dc.inspection(signer, view=VIEW, subject_pseudonym=subject, role=reader.role, purpose=purpose,
                            reader=reader.name, seed=seed)
    except LedgerError as e:
        raise BadPurpose(str(e)) from None
    recorded = state.service.submit(sub.note, sub.openings)
    state.metrics.count(state.metrics.appends, "inspection")
    return recorded


def with_inspectors(state: AppState, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The history's events, each inspection with ``inspector`` (the principal who read: the
    statement's reader, else its signer) and ``purpose`` (opened from the sealed store; null when
    its opening is not there, e.g. erased)."""
    commitments: dict[int, str] = {}
    for e in items:
        if e.get("kind") == "inspection":
            e["inspector"] = e.get("reader") or e.get("signer")
            try:
                body = parse_statement(parse_entry(state.ledger.entry(e["index"])).statement).body
                commitments[e["index"]] = str(body["purpose"])
            except (LedgerError, KeyError, IndexError):
                pass
    try:
        opened = state.service.sealed.get_many(commitments.values()) if commitments else {}
    except LedgerError:
        opened = {}
    for e in items:
        if e.get("kind") == "inspection":
            found = opened.get(commitments.get(e["index"], ""))
            e["purpose"] = found.value if found is not None and isinstance(found.value, str) else None
    return items
