"""Request bodies of both versions (tests/vectors/request-bodies/): the schema accepts or refuses each
as the vectors say, and the client writes exactly the members of each version."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from ledger.authoring import disclosure as dc
from ledger.core.errors import StatementError
from ledger.domain.schemas import REQUEST_VERSION, check_body, request_version

HERE = Path(__file__).resolve().parents[1] / "vectors" / "request-bodies"
VECTORS = json.loads((HERE / "request-bodies.json").read_text())["vectors"]


def _generator():
    spec = importlib.util.spec_from_file_location("make_request_bodies", HERE / "make_request_bodies.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vectors_are_up_to_date():
    assert (HERE / "request-bodies.json").read_text() == _generator().render()


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_schema_does_what_the_vector_says(vector):
    if vector["schema"] == "ok":
        check_body("request", vector["body"])
        assert request_version(vector["body"]) == vector["version"]
    else:
        with pytest.raises(StatementError) as refused:
            check_body("request", vector["body"])
        assert vector["error_contains"] in str(refused.value)


def _members(body):
    return sorted(body), [sorted(r) for r in body["recipients"]]


def test_the_client_writes_the_members_of_each_version():
    by_name = {v["name"]: v["body"] for v in VECTORS}
    commit = lambda field, value: "0" * 64  # noqa: E731 - only the members are compared
    common = dict(exception="6103(i)(2)", agency="DHS/ICE", statute="8 USC 1253(a)(1)",
                  purpose="criminal_investigation", purpose_text="p", fields=["name"], case_ids=["c"])
    named = dc.request_head(commit, recipients=[dc.Recipient("A", "DHS/ICE", principal=f"ice.dhs.gov/agent-{i}")
                                                for i in range(2)], **common)
    unnamed = dc.request_head(commit, recipients=[dc.Recipient("A", "DHS/ICE") for _ in range(2)], **common)
    strip = lambda body: {k: v for k, v in body.items() if k != "lines"}  # noqa: E731
    assert named["version"] == REQUEST_VERSION and _members(named) == _members(strip(by_name["v2"]))
    assert _members(unnamed) == _members(strip(by_name["v1"]))
    with pytest.raises(Exception, match="name no principal"):
        dc.request_head(commit, recipients=[dc.Recipient("A", "DHS/ICE", principal="ice.dhs.gov/agent-0"),
                                            dc.Recipient("B", "DHS/ICE")], **common)
