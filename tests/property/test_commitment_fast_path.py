"""The commitment and opening fast paths (string values built directly) give the bytes the
general canonical path gives, and refuse exactly what it refuses."""

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core.canonical import canonical_bytes
from ledger.core.commitments import COMMIT_TAG, Opening, commit
from ledger.core.errors import LedgerError

VALUES = st.one_of(st.text(), st.text(alphabet=st.characters(codec="utf-8")), st.integers(-(2**53) + 1, 2**53 - 1),
                   st.none(), st.booleans(), st.lists(st.text(max_size=3), max_size=3))


@settings(max_examples=2000)
@given(VALUES, st.sampled_from(["tin", "name", "address", "request.reason"]))
def test_fast_path_equals_general_path(value, field):
    try:
        document = canonical_bytes({"field": field, "value": value})
    except LedgerError:
        try:
            commit(field, value)
        except LedgerError:
            return
        raise AssertionError("the fast path accepted a value the canonical encoder refuses") from None
    opening = commit(field, value)
    assert opening.commitment == hashlib.sha256(COMMIT_TAG + opening.salt + document).hexdigest()
    assert opening.to_bytes() == canonical_bytes(opening.to_json())
    again = Opening.from_bytes(opening.to_bytes())
    assert again == opening and again.value == value and again.salt == opening.salt


def test_non_canonical_opening_bytes_are_refused():
    opening = commit("tin", "912701234")
    data = opening.to_bytes()
    for bad in (data.replace(b'{"field"', b'{ "field"'), data + b"\n",
                data.replace(b'"912701234"', b'"91270\\u0031234"')):
        try:
            Opening.from_bytes(bad)
        except LedgerError:
            continue
        raise AssertionError(bad)
