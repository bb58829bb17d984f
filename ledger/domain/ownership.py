"""Which request's statements carry each commitment: what an erasure may touch.

Filled as the log is replayed (the request with its recipients, case ids and lines, its match
results, inline or in bulk chunks), so that an erasure is judged against the whole history without
reading it again. A commitment is 64 hex digits; the index keeps its first 64 bits and the request it
came with, in two flat arrays (12 bytes a commitment: a 1.3-million-line request and its match
result cost about 80 MB, where a dict of the strings would cost about ten times that). Lookups scan
the arrays once per erasure, for all of its (at most 1,000) commitments. Two commitments sharing
their first 64 bits count as the same: a lookup may then name one request too many — an erasure is
refused more often, never less.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from typing import Any

REQUEST_LINE_FIELDS = ("tin", "name", "address", "reason")
MATCH_LINE_FIELDS = ("taxpayer",)
LINE_FIELDS = {"request": REQUEST_LINE_FIELDS, "match_result": MATCH_LINE_FIELDS}


def _keys(commitments: list[str]) -> array[int]:
    """The first 64 bits of each commitment, as the machine's unsigned 64-bit integers."""
    out = array("Q")
    try:
        out.frombytes(bytes.fromhex("".join([c[:16] for c in commitments])))
    except ValueError:  # not all hex: one at a time, skipping what is not a commitment
        for c in commitments:
            try:
                out.frombytes(bytes.fromhex(c[:16]).ljust(8, b"\0"))
            except ValueError:
                continue
    return out


def line_commitments(kind: str, lines: list[Any]) -> list[str]:
    """The commitments of a request's or a match result's lines (other kinds carry none)."""
    fields = LINE_FIELDS.get(kind, ())
    return [v for line in lines for f in fields if isinstance(v := line.get(f), str)]


def head_commitments(body: dict[str, Any]) -> list[str]:
    """The commitments of a request's head: purpose text, recipients' names, case ids."""
    out = [body.get("purpose_text")]
    out.extend(r.get("name") for r in body.get("recipients", []) if isinstance(r, dict))
    out.extend(body.get("case_ids", []))
    return [c for c in out if isinstance(c, str)]


class CommitmentOwners:
    """Commitment (its first 64 bits) -> the requests whose statements carry it."""

    def __init__(self) -> None:
        self._keys = array("Q")
        self._owners = array("L")
        self._requests: list[str] = []
        self._ordinal: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, request_id: str, commitments: Iterable[str]) -> None:
        ordinal = self._ordinal.get(request_id)
        if ordinal is None:
            ordinal = self._ordinal[request_id] = len(self._requests)
            self._requests.append(request_id)
        keys = _keys(list(commitments))
        self._keys.extend(keys)
        self._owners.extend(array("L", [ordinal]) * len(keys))

    def owners(self, commitments: Iterable[str]) -> dict[str, set[str]]:
        """For each commitment given, the requests whose statements carry it (absent: none)."""
        wanted: dict[int, list[str]] = {}
        for c in commitments:
            keys = _keys([c])
            if keys:
                wanted.setdefault(keys[0], []).append(c)
        found: dict[str, set[str]] = {}
        for key, ordinal in zip(self._keys, self._owners, strict=True):
            if key in wanted:  # one pass over every commitment recorded: erasures are rare
                for c in wanted[key]:
                    found.setdefault(c, set()).add(self._requests[ordinal])
        return found
