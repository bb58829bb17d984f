"""Body schemas of the § 6103 statement types (documented in docs/FORMAT.md).

Every free-text, identifying or investigative value is a commitment (64 lowercase hex);
codes (exception, purpose, statute cite, agency, field names) are in clear so that the
rules can be checked from the log alone. A body that breaks its schema is refused like a
malformed statement: nothing is stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ledger.core.errors import StatementError
from ledger.core.lines import BULK_KINDS, CHUNK_LINES, chunk_count

_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")
_CODE = re.compile(r"[A-Za-z0-9_ ./()+:-]{1,80}\Z")
_DATE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])\Z")
_PERIOD = re.compile(r"[0-9]{4}(-(0[1-9]|1[0-2]))?\Z")
_PRINCIPAL = re.compile(r"[!-*,-~]{1,200}\Z")  # a key name (printable ASCII, no space, no '+')
REQUEST_VERSION = 2  # the request body written today; version 1 (no ``version`` member) still verifies
MAX_LINES = 150  # per statement inline; more lines travel in bulk form (manifest + chunks)
MAX_BULK_LINES = 10_000_000
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


LineCheck = Callable[[_Body, str, Any, "int | None"], None]


def _lines_key(b: _Body) -> str:
    """A bulk-capable statement holds its lines inline (``lines``) or a manifest (``bulk``)."""
    return "bulk" if "bulk" in b.body and "lines" not in b.body else "lines"


def _lines(b: _Body, check: LineCheck) -> None:
    if _lines_key(b) == "lines":
        for i, line in enumerate(b.items("lines", b.body["lines"], min_items=1)):
            check(b, f"lines[{i}]", line, None)
        return
    bulk = b.body["bulk"]
    if not isinstance(bulk, dict):
        raise _fail(b.type, "bulk", "an object", bulk)
    mb = _Body(b.type, bulk)
    mb.keys({"line_count", "chunk_count", "lines_root"})
    mb.count("bulk.line_count", bulk["line_count"])
    if not 1 <= bulk["line_count"] <= MAX_BULK_LINES:
        raise _fail(b.type, "bulk.line_count", f"1..{MAX_BULK_LINES}", bulk["line_count"])
    if bulk["chunk_count"] != chunk_count(bulk["line_count"]):
        raise _fail(b.type, "bulk.chunk_count", f"ceil(line_count / {CHUNK_LINES}) = "
                    f"{chunk_count(bulk['line_count'])}", bulk["chunk_count"])
    mb.match("bulk.lines_root", bulk["lines_root"], _HEX64, "hex RFC 6962 root of the line commitments")


def _chunk(b: _Body) -> None:
    """One chunk of a bulk statement: its items in order, the first at ``first_line``."""
    body = b.body
    b.keys({"of", "kind", "chunk", "first_line", "lines"})
    b.ref("of", body["of"])
    if body["kind"] not in BULK_KINDS:
        raise _fail("chunk", "kind", " / ".join(BULK_KINDS), body["kind"])
    b.count("chunk", body["chunk"])
    b.count("first_line", body["first_line"])
    if body["first_line"] != body["chunk"] * CHUNK_LINES:
        raise _fail("chunk", "first_line", f"chunk * {CHUNK_LINES} = {body['chunk'] * CHUNK_LINES}",
                    body["first_line"])
    check = _LINE_CHECKS[body["kind"]]
    first = body["first_line"]
    items = b.items("lines", body["lines"], min_items=1, max_items=CHUNK_LINES)
    ib = _Body(body["kind"], {})
    for i, line in enumerate(items):
        check(ib, f"lines[{i}]", line, first + i)


def request_version(body: dict[str, Any]) -> int:
    """A request body's version: 1 when it has no ``version`` member (recipients without principals),
    else the member's value (2: every recipient names the principal who receives the data)."""
    version = body.get("version", 1)
    return version if isinstance(version, int) and not isinstance(version, bool) else 0


def _request(b: _Body) -> None:
    body = b.body
    version = request_version(body)
    if "version" in body and version != REQUEST_VERSION:
        raise _fail("request", "version", f"{REQUEST_VERSION} (a version-1 body has no version member)",
                    body["version"])
    b.keys({"exception", "agency", "statute", "purpose", "purpose_text", "fields", "recipients", "case_ids",
            "court_order", "resubmits", _lines_key(b)} | ({"version"} if version == REQUEST_VERSION else set()))
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
        rb.keys({"name", "agency", "personally_and_directly_engaged", "solely_for_use", "caseload"}
                | ({"principal"} if version == REQUEST_VERSION else set()))
        if version == REQUEST_VERSION:
            rb.match(f"recipients[{i}].principal", r["principal"], _PRINCIPAL, "a registered key name")
        rb.commitment(f"recipients[{i}].name", r["name"])
        rb.code(f"recipients[{i}].agency", r["agency"])
        rb.boolean(f"recipients[{i}].personally_and_directly_engaged", r["personally_and_directly_engaged"])
        rb.boolean(f"recipients[{i}].solely_for_use", r["solely_for_use"])
        rb.count(f"recipients[{i}].caseload", r["caseload"])
    for i, c in enumerate(b.items("case_ids", body["case_ids"])):
        b.commitment(f"case_ids[{i}]", c)
    b.ref("court_order", body["court_order"], nullable=True)
    b.ref("resubmits", body["resubmits"], nullable=True)
    _lines(b, _request_line)


def _request_line(b: _Body, path: str, line: Any, position: int | None) -> None:
    if not isinstance(line, dict):
        raise _fail(b.type, path, "an object", line)
    lb = _Body(b.type, line)
    lb.keys({"tin", "name", "address", "periods", "reason"})
    for key in ("tin", "name", "address", "reason"):
        lb.commitment(f"{path}.{key}", line[key], nullable=True)
    for j, p in enumerate(lb.items(f"{path}.periods", line["periods"], max_items=20)):
        lb.match(f"{path}.periods[{j}]", p, _PERIOD, "YYYY or YYYY-MM")


def _match_result(b: _Body) -> None:
    body = b.body
    b.keys({"request", "matcher_version", "address_rules_version", _lines_key(b), "red_flags"})
    b.ref("request", body["request"])
    b.code("matcher_version", body["matcher_version"])
    b.code("address_rules_version", body["address_rules_version"])
    _lines(b, _match_line)
    for i, f in enumerate(b.items("red_flags", body["red_flags"], max_items=50)):
        b.code(f"red_flags[{i}]", f)


def _match_line(b: _Body, path: str, line: Any, position: int | None) -> None:
    if not isinstance(line, dict):
        raise _fail(b.type, path, "an object", line)
    lb = _Body(b.type, line)
    lb.keys({"line", "matched", "match_basis", "method", "address_class", "address_usable",
             "irs_address_differs", "taxpayer"})
    _line_number(lb, path, line["line"], position)
    lb.boolean(f"{path}.matched", line["matched"])
    for j, f in enumerate(lb.items(f"{path}.match_basis", line["match_basis"], max_items=5)):
        if f not in ("tin", "name", "address", "dob"):
            raise _fail(b.type, f"{path}.match_basis[{j}]", "tin, name, address or dob", f)
    lb.code(f"{path}.method", line["method"])
    lb.code(f"{path}.address_class", line["address_class"])
    lb.boolean(f"{path}.address_usable", line["address_usable"])
    if line["irs_address_differs"] is not None:
        lb.boolean(f"{path}.irs_address_differs", line["irs_address_differs"])
    lb.commitment(f"{path}.taxpayer", line["taxpayer"], nullable=True)


def _line_number(b: _Body, path: str, value: Any, position: int | None) -> None:
    """Inline, a line number; in a chunk, exactly the item's position in the bulk statement."""
    b.count(f"{path}.line", value)
    if position is not None and value != position:
        raise _fail(b.type, f"{path}.line", f"line {position} (bulk items are in line order)", value)


def _review(b: _Body) -> None:
    body = b.body
    b.keys({"request", "law_version", _lines_key(b), "red_flags"})
    b.ref("request", body["request"])
    b.code("law_version", body["law_version"])
    _lines(b, _review_line)
    for i, f in enumerate(b.items("red_flags", body["red_flags"], max_items=50)):
        b.code(f"red_flags[{i}]", f)


def _review_line(b: _Body, path: str, line: Any, position: int | None) -> None:
    if not isinstance(line, dict):
        raise _fail(b.type, path, "an object", line)
    lb = _Body(b.type, line)
    lb.keys({"line", "decision", "reason"})
    _line_number(lb, path, line["line"], position)
    if line["decision"] not in DECISIONS:
        raise _fail(b.type, f"{path}.decision", "approve or refuse", line["decision"])
    lb.code(f"{path}.reason", line["reason"])


def _release_line(b: _Body, path: str, line: Any, position: int | None) -> None:
    b.count(path, line)


def _release(b: _Body) -> None:
    body = b.body
    b.keys({"request", "review", _lines_key(b), "fields", "recipients", "file_sha256", "channel"})
    b.ref("request", body["request"])
    b.ref("review", body["review"])
    _lines(b, _release_line)
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
    b.keys({"view", "subject", "role", "reader", "purpose"})
    b.code("view", b.body["view"])
    b.code("reader", b.body["reader"])  # who looked: the principal the read was made for
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


def _return_for_correction(b: _Body) -> None:
    """The reviewer sends a request back to its requester (who may file a corrected resubmission)."""
    b.keys({"request", "reason", "lines"})
    b.ref("request", b.body["request"])
    b.code("reason", b.body["reason"])
    for i, k in enumerate(b.items("lines", b.body["lines"], max_items=1000)):
        b.count(f"lines[{i}]", k)


def _recipient_attestation(b: _Body) -> None:
    """A named recipient's own attestation: personally and directly engaged, solely for use."""
    b.keys({"request", "recipient", "personally_and_directly_engaged", "solely_for_use"})
    b.ref("request", b.body["request"])
    b.count("recipient", b.body["recipient"])
    b.boolean("personally_and_directly_engaged", b.body["personally_and_directly_engaged"])
    b.boolean("solely_for_use", b.body["solely_for_use"])


LEGACY_BASIS = ("tin", "name", "address", "dob")


def _legacy_release(b: _Body) -> None:
    """A disclosure made before the ledger, imported from the agency's own accounting: when, to whom,
    under which exception, and per line what was requested and how the record released was matched."""
    body = b.body
    b.keys({"source", "disclosed_on", "agency", "exception", "purpose", "fields", "lines"})
    b.code("source", body["source"])
    b.match("disclosed_on", body["disclosed_on"], _DATE, "YYYY-MM-DD")
    b.code("agency", body["agency"])
    b.code("exception", body["exception"])
    b.code("purpose", body["purpose"], nullable=True)
    for i, f in enumerate(b.items("fields", body["fields"], min_items=1, max_items=10)):
        b.code(f"fields[{i}]", f)
    items = b.items("lines", body["lines"], min_items=1)
    for i, line in enumerate(items):
        _legacy_line(b, f"lines[{i}]", line, i)


def _legacy_line(b: _Body, path: str, line: Any, position: int) -> None:
    if not isinstance(line, dict):
        raise _fail(b.type, path, "an object", line)
    lb = _Body(b.type, line)
    lb.keys({"line", "tin", "name", "address", "address_class", "address_usable", "match_basis", "taxpayer"})
    _line_number(lb, path, line["line"], position)
    for key in ("tin", "name", "address", "taxpayer"):
        lb.commitment(f"{path}.{key}", line[key], nullable=True)
    lb.code(f"{path}.address_class", line["address_class"])
    lb.boolean(f"{path}.address_usable", line["address_usable"])
    basis = lb.items(f"{path}.match_basis", line["match_basis"], max_items=4)
    for j, f in enumerate(basis):
        if f not in LEGACY_BASIS or basis.index(f) != j:
            raise _fail(b.type, f"{path}.match_basis[{j}]", "tin, name, address or dob, each once", f)
    if bool(basis) != (line["taxpayer"] is not None):
        raise _fail(b.type, f"{path}.taxpayer", "a commitment exactly when match_basis is not empty",
                    line["taxpayer"])
    if "address" in basis and not line["address_usable"]:
        raise _fail(b.type, f"{path}.match_basis", "no address basis for an unusable address", basis)


_LINE_CHECKS: dict[str, LineCheck] = {
    "request": _request_line,
    "match_result": _match_line,
    "review": _review_line,
    "release": _release_line,
}

SCHEMAS = {
    "legacy_release": _legacy_release,
    "return_for_correction": _return_for_correction,
    "chunk": _chunk,
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
