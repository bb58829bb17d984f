"""Building § 6103 statements on the principal's side: commitments, envelopes, signatures.

Agencies never hand-roll canonical JSON: each builder returns a ``Submission`` — the
signed note plus the openings of its commitments, which travel to the ledger together
(the ledger checks that every opening matches and seals them; the log holds only the
commitments). A builder whose statement commits to a value takes the ``SaltSeed`` the ledger
issued for it (``ledger.salts``): the statement gets the seed's id and every salt is
derived from the seed (docs/FORMAT.md § 13.1). Without one, salts are random and only a ledger
without the disclosure service (a test, a rehearsal) accepts the statement.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.authoring.trust import signed
from ledger.core.commitments import Opening, commit
from ledger.core.errors import LedgerError
from ledger.core.keys import SignerKey
from ledger.domain.schemas import REQUEST_VERSION
from ledger.rules.catalog import LAW_VERSION
from ledger.salts import SaltSeed


@dataclass(frozen=True)
class Submission:
    """A signed statement and the openings of the commitments it carries."""

    note: str
    openings: tuple[Opening, ...] = field(default=())
    statement_id: str = ""


@dataclass(frozen=True)
class Line:
    """One taxpayer line as the requester supplies it (never logged in clear)."""

    tin: str | None
    name: str | None
    address: str | None
    periods: tuple[str, ...] = ("2024",)
    reason: str | None = None


@dataclass(frozen=True)
class Recipient:
    """A named recipient: ``name`` is committed to; ``principal`` is the registered key name of the person
    who receives the data (only that key may attest for the slot). A request whose recipients all name
    their principal is written as request body version 2; one whose recipients name none is the older
    version 1, which the ledger still files but never releases."""

    name: str
    agency: str
    personally_and_directly_engaged: bool = True
    solely_for_use: bool = True
    caseload: int = 1
    principal: str | None = None


class _Openings:
    """``c(field, value, line=None)`` commits to a value in its slot (``bundle_format.commitment_slots``):
    a line's member by its line number, a head member by its position among the head's members of
    that field, counted here in the order they are committed to."""

    def __init__(self, seed: SaltSeed | None = None, type_: str | None = None) -> None:
        if seed is not None and type_ is not None and seed.statement_type != type_:
            raise LedgerError(f"the seed for {seed.statement_id} was issued for a {seed.statement_type}, not a {type_}")
        self.seed = seed
        self.items: list[Opening] = []
        self.positions: dict[str, int] = {}

    def __call__(self, field_: str, value: Any, line: int | None = None) -> str | None:
        position = 0
        if line is None:
            position = self.positions.get(field_, 0)
            self.positions[field_] = position + 1
        if value is None:
            return None
        opening = commit(field_, value) if self.seed is None else self.seed.commit(field_, value, line, position)
        self.items.append(opening)
        return opening.commitment


def _submit(signers: Sequence[SignerKey], type_: str, body: dict[str, Any], openings: _Openings,
            statement_id: str | None = None) -> Submission:
    seed = openings.seed
    if seed is not None and statement_id not in (None, seed.statement_id):
        raise LedgerError(f"the seed was issued for statement {seed.statement_id}, not {statement_id}")
    sid = seed.statement_id if seed is not None else statement_id or str(uuid.uuid4())
    return Submission(signed(list(signers), type_, body, sid), tuple(openings.items), sid)


def request_head(c: Any, *, exception: str, agency: str, statute: str | None, purpose: str, purpose_text: str,
                 fields: Sequence[str], recipients: Sequence[Recipient], case_ids: Sequence[str] = (),
                 court_order: str | None = None, resubmits: str | None = None) -> dict[str, Any]:
    """A request's body without its lines (inline or bulk); ``c(field, value)`` commits to a value.
    Version 2 when every recipient names its principal, version 1 when none does (FORMAT § 17.4.1)."""
    named = [r.principal is not None for r in recipients]
    if any(named) and not all(named):
        raise LedgerError(f"recipients {[i for i, n in enumerate(named) if not n]} name no principal: "
                          "every recipient of a request names the principal who receives the data")
    slots = []
    for r in recipients:
        slot = {"name": c("recipient_name", r.name), "agency": r.agency,
                "personally_and_directly_engaged": r.personally_and_directly_engaged,
                "solely_for_use": r.solely_for_use, "caseload": r.caseload}
        if r.principal is not None:
            slot["principal"] = r.principal
        slots.append(slot)
    head = {
        "exception": exception, "agency": agency, "statute": statute, "purpose": purpose,
        "purpose_text": c("purpose_text", purpose_text), "fields": list(fields), "recipients": slots,
        "case_ids": [c("case_id", x) for x in case_ids], "court_order": court_order, "resubmits": resubmits,
    }
    if named and all(named):
        head["version"] = REQUEST_VERSION
    return head


def request(signer: SignerKey, *, exception: str, agency: str, statute: str | None, purpose: str,
            purpose_text: str, fields: Sequence[str], recipients: Sequence[Recipient], lines: Sequence[Line],
            case_ids: Sequence[str] = (), court_order: str | None = None, resubmits: str | None = None,
            statement_id: str | None = None, seed: SaltSeed | None = None) -> Submission:
    """A written request under exactly one exception."""
    c = _Openings(seed, "request")
    body = request_head(c, exception=exception, agency=agency, statute=statute, purpose=purpose,
                        purpose_text=purpose_text, fields=fields, recipients=recipients, case_ids=case_ids,
                        court_order=court_order, resubmits=resubmits)
    body["lines"] = [{"tin": c("tin", ln.tin, k), "name": c("name", ln.name, k), "address": c("address", ln.address, k),
                      "periods": list(ln.periods), "reason": c("reason", ln.reason, k)} for k, ln in enumerate(lines)]
    return _submit([signer], "request", body, c, statement_id)


def review(signer: SignerKey, request_id: str, decisions: Sequence[tuple[int, str, str]],
           red_flags: Sequence[str]) -> Submission:
    """Per-line decisions (line, "approve"|"refuse", reason code) with the server's red flags."""
    body = {"request": request_id, "law_version": LAW_VERSION,
            "lines": [{"line": k, "decision": d, "reason": r} for k, d, r in decisions],
            "red_flags": sorted(red_flags)}
    return _submit([signer], "review", body, _Openings())


def release(signer: SignerKey, request_id: str, review_id: str, lines: Sequence[int], fields: Sequence[str],
            recipients: Sequence[int], delivered_file: bytes, channel: str = "secure-file-transfer") -> Submission:
    """Exactly the approved lines and fields, to recipients named in the request."""
    body = {"request": request_id, "review": review_id, "lines": sorted(lines), "fields": list(fields),
            "recipients": list(recipients), "file_sha256": hashlib.sha256(delivered_file).hexdigest(),
            "channel": channel}
    return _submit([signer], "release", body, _Openings())


def court_order(signer: SignerKey, *, kind: str, court: str, docket: str, covers: dict[str, list[str]],
                forbids: Sequence[str] = ("release",), statement_id: str | None = None,
                seed: SaltSeed | None = None) -> Submission:
    c = _Openings(seed, "court_order")
    body = {"kind": kind, "court": court, "docket": c("docket", docket), "covers": covers,
            "forbids": list(forbids)}
    return _submit([signer], "court_order", body, c, statement_id)


def vacatur(signer: SignerKey, order_id: str) -> Submission:
    return _submit([signer], "vacatur", {"order": order_id}, _Openings())


def withdrawal(signer: SignerKey, request_id: str) -> Submission:
    return _submit([signer], "withdrawal", {"request": request_id}, _Openings())


def supporting_document(signer: SignerKey, request_id: str, kind: str, document: bytes) -> Submission:
    body = {"kind": kind, "request": request_id, "document_sha256": hashlib.sha256(document).hexdigest()}
    return _submit([signer], "supporting_document", body, _Openings())


def safeguard_status(signer: SignerKey, agency: str, *, ssr_approved: bool, open_findings: int = 0,
                     cap_implementation_date: str | None = None) -> Submission:
    body = {"agency": agency, "ssr_approved": ssr_approved, "open_findings": open_findings,
            "cap_implementation_date": cap_implementation_date}
    return _submit([signer], "safeguard_status", body, _Openings())


def receipt(signer: SignerKey, release_id: str, delivered_file: bytes) -> Submission:
    body = {"release": release_id, "file_sha256": hashlib.sha256(delivered_file).hexdigest()}
    return _submit([signer], "receipt", body, _Openings())


def inspection(signer: SignerKey, *, view: str, subject_pseudonym: str, role: str, purpose: str,
               reader: str | None = None, seed: SaltSeed | None = None) -> Submission:
    """Record an authorised read of a taxpayer's history (every such read is itself logged).

    ``reader`` names who looked (an API token's principal when the ledger signs for a reader;
    the signer's own name by default)."""
    c = _Openings(seed, "inspection")
    body = {"view": view, "subject": c("pseudonym", subject_pseudonym), "role": role,
            "reader": reader or signer.name, "purpose": c("inspection_purpose", purpose)}
    return _submit([signer], "inspection", body, c)


def correction(signer: SignerKey, corrects: str, field_: str, old_value: int | str, new_value: int | str,
               reason: str, seed: SaltSeed | None = None) -> Submission:
    """Correct an earlier statement's count or field, linked to what it corrects."""
    c = _Openings(seed, "correction")
    body = {"corrects": corrects, "field": field_, "old_value": old_value, "new_value": new_value,
            "reason": c("correction_reason", reason)}
    return _submit([signer], "correction", body, c)


def disposition(signer: SignerKey, release_id: str, disposition_: str, count: int) -> Submission:
    return _submit([signer], "disposition", {"release": release_id, "disposition": disposition_, "count": count},
                   _Openings())


def use_freeze(signer: SignerKey, order_id: str, agency: str) -> Submission:
    return _submit([signer], "use_freeze", {"order": order_id, "agency": agency}, _Openings())


def erasure(signers: SignerKey | Sequence[SignerKey], request_id: str, commitments: Sequence[str],
            reason: str) -> Submission:
    """Erase the openings of the request's own commitments (signed by two administrators; refused while
    a hold covers a request carrying them); the chain stays intact."""
    body = {"request": request_id, "commitments": list(commitments), "reason": reason}
    return _submit([signers] if isinstance(signers, SignerKey) else list(signers), "erasure", body, _Openings())


def recipient_attestation(signer: SignerKey, request_id: str, recipient: int) -> Submission:
    """A named recipient attests, with their own key, personal and direct engagement and sole use."""
    body = {"request": request_id, "recipient": recipient, "personally_and_directly_engaged": True,
            "solely_for_use": True}
    return _submit([signer], "recipient_attestation", body, _Openings())


def return_for_correction(signer: SignerKey, request_id: str, reason: str, lines: Sequence[int] = ()) -> Submission:
    """The reviewer returns a request to its requester, naming the lines to correct (if any)."""
    body = {"request": request_id, "reason": reason, "lines": sorted(lines)}
    return _submit([signer], "return_for_correction", body, _Openings())
