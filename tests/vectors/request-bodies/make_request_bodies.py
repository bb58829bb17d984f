"""Write ``request-bodies.json``: request bodies of both versions (FORMAT § 17.4.1), each with what the
body schema must do with it. Commitments are SHA-256 of labels (well-formed, opening nothing).

Run from the repository root:  python tests/vectors/request-bodies/make_request_bodies.py
(a test fails when the file differs from what this writes).
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "request-bodies.json"


def _c(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def _v1() -> dict[str, Any]:
    return {
        "agency": "DHS/ICE", "case_ids": [_c("case-1")], "court_order": None, "exception": "6103(i)(2)",
        "fields": ["name", "address"],
        "lines": [{"address": _c("address-0"), "name": _c("name-0"), "periods": ["2024"], "reason": _c("reason-0"),
                   "tin": None}],
        "purpose": "criminal_investigation", "purpose_text": _c("purpose"),
        "recipients": [{"agency": "DHS/ICE", "caseload": 2, "name": _c(f"recipient-{i}"),
                        "personally_and_directly_engaged": True, "solely_for_use": True} for i in range(2)],
        "resubmits": None, "statute": "8 USC 1253(a)(1)",
    }


def _v2() -> dict[str, Any]:
    body = _v1()
    for i, r in enumerate(body["recipients"]):
        r["principal"] = f"ice.dhs.gov/agent-{i}"
    body["version"] = 2
    return body


def _with(body: dict[str, Any], change: Any) -> dict[str, Any]:
    body = copy.deepcopy(body)
    change(body)
    return body


def vectors() -> list[dict[str, Any]]:
    bulk = {"line_count": 300, "chunk_count": 3, "lines_root": _c("root")}
    ok = [
        ("v1", "version 1: no version member, recipients without principal", _v1()),
        ("v2", "version 2: version 2, every recipient names its principal", _v2()),
        ("v1-bulk", "version 1 bulk manifest", _with(_v1(), lambda b: (b.pop("lines"), b.update(bulk=bulk)))),
        ("v2-bulk", "version 2 bulk manifest", _with(_v2(), lambda b: (b.pop("lines"), b.update(bulk=bulk)))),
    ]
    refused = [
        ("v1-with-principal", "a principal without the version member", "unexpected ['principal']",
         _with(_v1(), lambda b: b["recipients"][0].update(principal="ice.dhs.gov/agent-0"))),
        ("v2-without-principal", "version 2 with a recipient naming no principal", "missing ['principal']",
         _with(_v2(), lambda b: b["recipients"][1].pop("principal"))),
        ("version-1-explicit", "version 1 is written by leaving the member out", "body.version",
         _with(_v1(), lambda b: b.update(version=1))),
        ("version-3", "an unknown version", "body.version", _with(_v2(), lambda b: b.update(version=3))),
        ("version-true", "a boolean is not a version", "body.version", _with(_v2(), lambda b: b.update(version=True))),
        ("version-text", "a string is not a version", "body.version", _with(_v2(), lambda b: b.update(version="2"))),
        ("principal-space", "a key name holds no space", "recipients[0].principal",
         _with(_v2(), lambda b: b["recipients"][0].update(principal="ice agent"))),
        ("principal-plus", "a key name holds no '+'", "recipients[0].principal",
         _with(_v2(), lambda b: b["recipients"][0].update(principal="ice+agent"))),
        ("principal-empty", "an empty key name", "recipients[0].principal",
         _with(_v2(), lambda b: b["recipients"][0].update(principal=""))),
        ("principal-null", "a principal is a key name, not null", "recipients[0].principal",
         _with(_v2(), lambda b: b["recipients"][0].update(principal=None))),
    ]
    out = [{"name": n, "what": w, "version": 2 if n.startswith("v2") else 1, "schema": "ok", "body": b}
           for n, w, b in ok]
    out += [{"name": n, "what": w, "schema": "refused", "error_contains": e, "body": b} for n, w, e, b in refused]
    return out


def render() -> str:
    return json.dumps({"_about": "request bodies of versions 1 and 2 (docs/FORMAT.md § 17.4.1) and what the "
                                 "body schema does with each; written by make_request_bodies.py",
                       "vectors": vectors()}, indent=1, sort_keys=True) + "\n"


def main() -> int:
    OUT.write_text(render())
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
