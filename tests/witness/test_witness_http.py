"""The witness over HTTP, served by the real command (`python -m ledger.witness serve`): every answer
code of add-checkpoint with its content type, the monitoring endpoint, and what the HTTP layer adds
(405, 413, unknown paths)."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from witnessfix import LOG_KEY, ORIGIN, Log, Served, init_witness

from ledger.core.cosignature import parse_cosigner_vkey
from ledger.core.keys import SignerKey
from ledger.core.note import parse_note
from ledger.core.tlog_policy import parse_policy
from ledger.core.witness_protocol import monitoring_path, parse_cosignature_answer
from ledger.core.witnessed import check_witness_policy


@pytest.fixture
def served(tmp_path: Path, db_url: str) -> Iterator[tuple[Served, str]]:
    vkey = init_witness(str(tmp_path / "w"), db_url)
    server = Served(str(tmp_path / "w"))
    yield server, vkey
    server.stop()


def call(url: str, method: str, path: str, body: bytes | None = None) -> tuple[int, str, bytes]:
    parsed = urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
    try:
        conn.request(method, path, body=body)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        conn.close()


def test_every_answer_code_over_http(served: tuple[Served, str]) -> None:
    """200, 400, 403, 404, 409 (text/x.tlog.size), 422 through a real server, and the monitoring
    endpoint's cosigned checkpoint verifying under a policy naming this witness."""
    server, vkey = served
    log = Log().grow(7)
    status, ctype, body = call(server.url, "POST", "/add-checkpoint", log.request(0))
    assert status == 200, body
    witness = parse_cosigner_vkey(vkey)
    (line,) = [x for x in parse_cosignature_answer(body) if witness.owns(x)]
    assert witness.verify(parse_note(log.checkpoint()).text, line) > 0
    assert call(server.url, "POST", "/add-checkpoint", b"garbage")[0] == 400
    impostor = Log(key=SignerKey(ORIGIN, bytes(32))).grow(3)
    assert call(server.url, "POST", "/add-checkpoint", impostor.request(0))[0] == 403
    stranger = Log(key=SignerKey("other.example/log", bytes(32))).grow(3)
    assert call(server.url, "POST", "/add-checkpoint", stranger.request(0))[0] == 404
    status, ctype, body = call(server.url, "POST", "/add-checkpoint", log.grow(1).request(3))
    assert (status, ctype, body) == (409, "text/x.tlog.size", b"7\n")
    fork = log.fork(5, "fork").grow(4)
    assert call(server.url, "POST", "/add-checkpoint", fork.request(7))[0] == 422

    status, _, served_note = call(server.url, "GET", "/" + monitoring_path(ORIGIN))
    assert status == 200
    policy = parse_policy(f"log {LOG_KEY.verifier}\nwitness w {vkey}\nquorum w\n")
    assert check_witness_policy(served_note, LOG_KEY.verifier, policy).signed.checkpoint.size == 7
    assert call(server.url, "GET", "/" + "0" * 64 + "/checkpoint")[0] == 404


def test_http_layer_limits(served: tuple[Served, str]) -> None:
    """GET on add-checkpoint is 405 with Allow; an oversized body 413; other paths 404; / names the witness."""
    server, vkey = served
    parsed = urlparse(server.url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
    conn.request("GET", "/add-checkpoint")
    response = conn.getresponse()
    assert response.status == 405 and response.getheader("Allow") == "POST"
    response.read()
    conn.close()
    assert call(server.url, "POST", "/add-checkpoint", b"old 0\n\n" + b"x" * 400_000)[0] == 413
    assert call(server.url, "GET", "/nothing")[0] == 404
    status, _, body = call(server.url, "GET", "/")
    assert status == 200 and vkey.encode() in body


def test_keep_alive_serves_several_requests_on_one_connection(served: tuple[Served, str]) -> None:
    """Clients SHOULD keep connections alive: three add-checkpoint calls on one connection."""
    server, _ = served
    parsed = urlparse(server.url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
    log = Log().grow(2)
    old = 0
    for _ in range(3):
        conn.request("POST", "/add-checkpoint", body=log.request(old))
        response = conn.getresponse()
        assert response.status == 200, response.read()
        response.read()
        old = len(log.leaves)
        log.grow(3)
    conn.close()
