"""Body schemas of the § 6103 statement types (documented in docs/FORMAT.md).

Every free-text, identifying or investigative value is a commitment (64 lowercase hex);
codes (exception, purpose, statute cite, agency, field names) are in clear so that the
rules can be checked from the log alone. A body that breaks its schema is refused like a
malformed statement: nothing is stored.
"""

from __future__ import annotations

import re
from typing import Any

from ledger.errors import StatementError

_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")
_CODE = re.compile(r"[A-Za-z0-9_ ./()+:-]{1,80}\Z")
_DATE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])\Z")
_PERIOD = re.compile(r"[0-9]{4}(-(0[1-9]|1[0-2]))?\Z")
MAX_LINES = 150  # per statement; bulk requests arrive in chunks
DECISIONS = ("approve", "refuse")
ORDER_KINDS = ("ex_parte_order", "injunction", "legal_hold")


def _fail(type_: str, path: str, expected: str, found: Any) -> StatementError:
    return StatementError(f"{type_} body.{path}: expected {expected}, found {str(found)[:60]!r}")


class _Body:
    def __init__(self, type_: str, body: dict[str, Any]) -> None:
        self.type = type_
        self.body = body

    def keys(self, required: set[str], optional: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        missing = required - set(self.body)
        extra = set(self.body) - required - set(optional)
        if missing or extra:
            raise StatementError(f"{self.type} body: missing {sorted(missing)}, unexpected {sorted(extra)}")

    def match(self, path: str, value: Any, pattern: re.Pattern[str], expected: str, nullable: bool = False) -> None:
        if value is None and nullable:
            return
        if not isinstance(value, str) or not pattern.match(value):
            raise _fail(self.type, path, expected, value)

    def commitment(self, path: str, value: Any, nullable: bool = False) -> None:
        self.match(path, value, _HEX64, "a commitment (64 lowercase hex)", nullable)

    def ref(self, path: str, value: Any, nullable: bool = False) -> None:
        self.match(path, value, _ID, "a statement id", nullable)

    def code(self, path: str, value: Any, nullable: bool = False) -> None:
        self.match(path, value, _CODE, "a code", nullable)

    def boolean(self, path: str, value: Any) -> None:
        if not isinstance(value, bool):
            raise _fail(self.type, path, "true or false", value)

    def count(self, path: str, value: Any) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise _fail(self.type, path, "a non-negative integer", value)

    def items(self, path: str, value: Any, *, max_items: int = MAX_LINES, min_items: int = 0) -> list[Any]:
        if not isinstance(value, list) or not min_items <= len(value) <= max_items:
            raise _fail(self.type, path, f"a list of {min_items}..{max_items} items", value)
        return value


def _request(b: _Body) -> None:
    body = b.body
    b.keys({"exception", "agency", "statute", "purpose", "purpose_text", "fields", "recipients", "case_ids",
            "court_order", "resubmits", "lines"})
    b.code("exception", body["exception"])
    b.code("agency", body["agency"])
    b.code("statute", body["statute"], nullable=True)
    b.code("purpose", body["purpose"])
    b.commitment("purpose_text", body["purpose_text"])
    for i, f in enumerate(b.items("fields", body["fields"], min_items=1, max_items=10)):
        b.code(f"fields[{i}]", f)
    for i, r in enumerate(b.items("recipients", body["recipients"], min_items=1, max_items=50)):
        rb = _Body("request", r if isinstance(r, dict) else {})
        if not isinstance(r, dict):
            raise _fail("request", f"recipients[{i}]", "an object", r)
        rb.keys({"name", "agency", "personally_and_directly_engaged", "solely_for_use", "caseload"})
        rb.commitment(f"recipients[{i}].name", r["name"])
        rb.code(f"recipients[{i}].agency", r["agency"])
        rb.boolean(f"recipients[{i}].personally_and_directly_engaged", r["personally_and_directly_engaged"])
        rb.boolean(f"recipients[{i}].solely_for_use", r["solely_for_use"])
        rb.count(f"recipients[{i}].caseload", r["caseload"])
    for i, c in enumerate(b.items("case_ids", body["case_ids"])):
        b.commitment(f"case_ids[{i}]", c)
    b.ref("court_order", body["court_order"], nullable=True)
    b.ref("resubmits", body["resubmits"], nullable=True)
    for i, line in enumerate(b.items("lines", body["lines"], min_items=1)):
        if not isinstance(line, dict):
            raise _fail("request", f"lines[{i}]", "an object", line)
        lb = _Body("request", line)
        lb.keys({"tin", "name", "address", "periods", "reason"})
        lb.commitment(f"lines[{i}].tin", line["tin"], nullable=True)
        lb.commitment(f"lines[{i}].name", line["name"], nullable=True)
        lb.commitment(f"lines[{i}].address", line["address"], nullable=True)
        lb.commitment(f"lines[{i}].reason", line["reason"], nullable=True)
        for j, p in enumerate(lb.items(f"lines[{i}].periods", line["periods"], max_items=20)):
            lb.match(f"lines[{i}].periods[{j}]", p, _PERIOD, "YYYY or YYYY-MM")


def _match_result(b: _Body) -> None:
    body = b.body
    b.keys({"request", "matcher_version", "address_rules_version", "lines", "red_flags"})
    b.ref("request", body["request"])
    b.code("matcher_version", body["matcher_version"])
    b.code("address_rules_version", body["address_rules_version"])
    for i, line in enumerate(b.items("lines", body["lines"], min_items=1)):
        if not isinstance(line, dict):
            raise _fail("match_result", f"lines[{i}]", "an object", line)
        lb = _Body("match_result", line)
        lb.keys({"line", "matched", "match_basis", "method", "address_class", "address_usable",
                 "irs_address_differs", "taxpayer"})
        lb.count(f"lines[{i}].line", line["line"])
        lb.boolean(f"lines[{i}].matched", line["matched"])
        for j, f in enumerate(lb.items(f"lines[{i}].match_basis", line["match_basis"], max_items=5)):
            if f not in ("tin", "name", "address", "dob"):
                raise _fail("match_result", f"lines[{i}].match_basis[{j}]", "tin, name, address or dob", f)
        lb.code(f"lines[{i}].method", line["method"])
        lb.code(f"lines[{i}].address_class", line["address_class"])
        lb.boolean(f"lines[{i}].address_usable", line["address_usable"])
        if line["irs_address_differs"] is not None:
            lb.boolean(f"lines[{i}].irs_address_differs", line["irs_address_differs"])
        lb.commitment(f"lines[{i}].taxpayer", line["taxpayer"], nullable=True)
    for i, f in enumerate(b.items("red_flags", body["red_flags"], max_items=50)):
        b.code(f"red_flags[{i}]", f)


def _review(b: _Body) -> None:
    body = b.body
    b.keys({"request", "law_version", "lines", "red_flags"})
    b.ref("request", body["request"])
    b.code("law_version", body["law_version"])
    for i, line in enumerate(b.items("lines", body["lines"], min_items=1)):
        if not isinstance(line, dict):
            raise _fail("review", f"lines[{i}]", "an object", line)
        lb = _Body("review", line)
        lb.keys({"line", "decision", "reason"})
        lb.count(f"lines[{i}].line", line["line"])
        if line["decision"] not in DECISIONS:
            raise _fail("review", f"lines[{i}].decision", "approve or refuse", line["decision"])
        lb.code(f"lines[{i}].reason", line["reason"])
    for i, f in enumerate(b.items("red_flags", body["red_flags"], max_items=50)):
        b.code(f"red_flags[{i}]", f)


def _release(b: _Body) -> None:
    body = b.body
    b.keys({"request", "review", "lines", "fields", "recipients", "file_sha256", "channel"})
    b.ref("request", body["request"])
    b.ref("review", body["review"])
    for i, k in enumerate(b.items("lines", body["lines"], min_items=1)):
        b.count(f"lines[{i}]", k)
    for i, f in enumerate(b.items("fields", body["fields"], min_items=1, max_items=10)):
        b.code(f"fields[{i}]", f)
    for i, r in enumerate(b.items("recipients", body["recipients"], min_items=1, max_items=50)):
        b.count(f"recipients[{i}]", r)
    b.match("file_sha256", body["file_sha256"], _HEX64, "hex SHA-256 of the delivered file")
    b.code("channel", body["channel"])


def _court_order(b: _Body) -> None:
    body = b.body
    b.keys({"kind", "court", "docket", "covers", "forbids"})
    if body["kind"] not in ORDER_KINDS:
        raise _fail("court_order", "kind", " / ".join(ORDER_KINDS), body["kind"])
    b.code("court", body["court"])
    b.commitment("docket", body["docket"])
    covers = body["covers"]
    if not isinstance(covers, dict):
        raise _fail("court_order", "covers", "an object", covers)
    cb = _Body("court_order", covers)
    cb.keys(set(), {"requests", "exceptions", "agencies", "purposes"})
    for key, value in covers.items():
        for i, v in enumerate(cb.items(f"covers.{key}", value, max_items=100)):
            (cb.ref if key == "requests" else cb.code)(f"covers.{key}[{i}]", v)
    for i, f in enumerate(b.items("forbids", body["forbids"], max_items=2)):
        if f not in ("release", "use"):
            raise _fail("court_order", f"forbids[{i}]", "release or use", f)


def _ref_only(field: str) -> Any:
    def check(b: _Body) -> None:
        b.keys({field})
        b.ref(field, b.body[field])
    return check


def _supporting_document(b: _Body) -> None:
    b.keys({"kind", "request", "document_sha256"})
    b.code("kind", b.body["kind"])
    b.ref("request", b.body["request"])
    b.match("document_sha256", b.body["document_sha256"], _HEX64, "hex SHA-256 of the document")


def _safeguard_status(b: _Body) -> None:
    b.keys({"agency", "ssr_approved", "open_findings", "cap_implementation_date"})
    b.code("agency", b.body["agency"])
    b.boolean("ssr_approved", b.body["ssr_approved"])
    b.count("open_findings", b.body["open_findings"])
    b.match("cap_implementation_date", b.body["cap_implementation_date"], _DATE, "YYYY-MM-DD", nullable=True)


def _receipt(b: _Body) -> None:
    b.keys({"release", "file_sha256"})
    b.ref("release", b.body["release"])
    b.match("file_sha256", b.body["file_sha256"], _HEX64, "hex SHA-256")


def _inspection(b: _Body) -> None:
    """An authorised read of a taxpayer's history: who looked, under which role, why."""
    b.keys({"view", "subject", "role", "purpose"})
    b.code("view", b.body["view"])
    b.commitment("subject", b.body["subject"])  # commitment to the taxpayer pseudonym looked up
    b.code("role", b.body["role"])
    b.commitment("purpose", b.body["purpose"])


def _correction(b: _Body) -> None:
    """A signed correction of an earlier statement's count or field (e.g. 47,289 vs 47,489 released)."""
    b.keys({"corrects", "field", "old_value", "new_value", "reason"})
    b.ref("corrects", b.body["corrects"])
    b.code("field", b.body["field"])
    for key in ("old_value", "new_value"):
        value = b.body[key]
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise _fail("correction", key, "an integer or a code", value)
        if isinstance(value, str):
            b.code(key, value)
    b.commitment("reason", b.body["reason"])


def _disposition(b: _Body) -> None:
    b.keys({"release", "disposition", "count"})
    b.ref("release", b.body["release"])
    if b.body["disposition"] not in ("returned", "destroyed", "retained"):
        raise _fail("disposition", "disposition", "returned, destroyed or retained", b.body["disposition"])
    b.count("count", b.body["count"])


def _use_freeze(b: _Body) -> None:
    b.keys({"order", "agency"})
    b.ref("order", b.body["order"])
    b.code("agency", b.body["agency"])


def _erasure(b: _Body) -> None:
    b.keys({"request", "commitments", "reason"})
    b.ref("request", b.body["request"])
    for i, c in enumerate(b.items("commitments", b.body["commitments"], min_items=1, max_items=1000)):
        b.commitment(f"commitments[{i}]", c)
    b.code("reason", b.body["reason"])


def _recipient_attestation(b: _Body) -> None:
    """A named recipient's own attestation: personally and directly engaged, solely for use."""
    b.keys({"request", "recipient", "personally_and_directly_engaged", "solely_for_use"})
    b.ref("request", b.body["request"])
    b.count("recipient", b.body["recipient"])
    b.boolean("personally_and_directly_engaged", b.body["personally_and_directly_engaged"])
    b.boolean("solely_for_use", b.body["solely_for_use"])


SCHEMAS = {
    "recipient_attestation": _recipient_attestation,
    "correction": _correction,
    "disposition": _disposition,
    "use_freeze": _use_freeze,
    "erasure": _erasure,
    "inspection": _inspection,
    "request": _request,
    "match_result": _match_result,
    "review": _review,
    "release": _release,
    "court_order": _court_order,
    "vacatur": _ref_only("order"),
    "withdrawal": _ref_only("request"),
    "supporting_document": _supporting_document,
    "safeguard_status": _safeguard_status,
    "receipt": _receipt,
}


def check_body(type_: str, body: dict[str, Any]) -> None:
    """Raise StatementError unless the body fits its type's schema (types without one pass)."""
    schema = SCHEMAS.get(type_)
    if schema is not None:
        schema(_Body(type_, body))
