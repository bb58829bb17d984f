"""The HTTP service with and without a witness policy: "unwitnessed" on /readyz, the checkpoint's
Witnesses header and the metrics by default; with three witnesses (2 of 3), ?wait=checkpoint answers
the cosigned checkpoint, and with the quorum gone a 503 not-witnessed problem with Retry-After naming
what was stored (the statement stands), /readyz not ready saying why, the metrics counting the time —
and publication catches up when the witnesses return."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from domainfix import AGENCY, ORIGIN, http_seed, one_line_request, open_domain
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from publishfix import trio, witnessed

from api.app import create_app
from api.settings import ApiSettings
from ledger.core.keys import parse_vkey
from ledger.core.tlog_policy import parse_policy
from ledger.core.witnessed import check_witness_policy
from ledger.rules.engine import RuleEngine
from ledger.sealed import SealedKeys
from ledger.store.ledger import Ledger

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from apifix import make_tokens, open_api


def samples(text: str) -> dict[str, float]:
    return {s.name + (str(sorted(s.labels.items())) if s.labels else ""): s.value
            for f in text_string_to_metric_families(text) for s in f.samples}


def test_unwitnessed_by_default(settings: Any) -> None:
    api, close = open_api(settings)
    try:
        api.ledger.checkpoint()
        r = api.client.get("/v1/checkpoint")
        assert r.status_code == 200 and r.headers["Witnesses"] == "unwitnessed"
        ready = api.client.get("/readyz").json()
        assert ready["witnesses"] == "unwitnessed" and "witnesses" not in ready["checks"]
        m = samples(api.client.get("/metrics", headers=api.auth("operator")).text)
        assert m["dl_witness_policy"] == 0 and m["dl_checkpoint_not_witnessed_seconds"] == 0
        r = api.client.post("/v1/statements", params={"wait": "checkpoint"}, json=api.submission(api.request()))
        assert r.status_code == 201 and r.json()["checkpoint"]
    finally:
        close()


def test_quorum_lost_and_regained(settings: Any, tmp_path: Path) -> None:
    domain = open_domain(settings)
    requester = domain.principal("ice.dhs.gov/director", ["requester"], agency=AGENCY, category="agency_head")
    root = str(domain.ledger.trust_root())
    domain.ledger.close()
    tokens = make_tokens(settings)
    with trio(tmp_path / "w") as t:
        t.add_log(ORIGIN, root)
        policy_path = t.write_policy([root])
        policy = parse_policy(policy_path.read_bytes())
        ws = witnessed(settings, policy_path, checkpoint_interval=0.2)
        ledger = Ledger(ws, rules=RuleEngine())
        app = create_app(ApiSettings(ws, wait_timeout=1.5), SealedKeys.random(), ledger=ledger, views_interval=None)
        op = {"Authorization": f"Bearer {tokens['operator']}"}

        def post(tin: str) -> Any:
            sub = one_line_request(requester, tin=tin, seed=http_seed(client.post, requester, ORIGIN))
            return client.post("/v1/statements", params={"wait": "checkpoint"},
                               json={"statement": sub.note, "openings": [o.to_json() for o in sub.openings]})

        try:
            with TestClient(app) as client:
                r = post("900-70-0001")
                assert r.status_code == 201, r.text
                got = check_witness_policy(r.json()["checkpoint"], parse_vkey(root), policy)
                assert got.signed.checkpoint.size > r.json()["index"]
                header = client.get("/v1/checkpoint").headers["Witnesses"]
                assert header == "cosigned by 3 of 3 witnesses; quorum met"
                assert client.get("/readyz").json()["checks"]["witnesses"] == "ok"

                t.by_name("gao").down = True
                t.by_name("jct").down = True
                size = ledger.size()
                started = time.monotonic()
                r = post("900-70-0002")
                assert time.monotonic() - started >= 1.5  # the stated wait
                assert r.status_code == 503, r.text
                assert r.headers["content-type"].startswith("application/problem+json")
                assert int(r.headers["Retry-After"]) >= 1
                body = r.json()
                assert body["type"].endswith("/problems/not-witnessed")
                assert body["stored"] == [{"index": size, "statement_id": body["stored"][0]["statement_id"]}]
                assert ledger.size() == size + 1  # the statement stands
                ready = client.get("/readyz")
                assert ready.status_code == 503
                assert "quorum" in ready.json()["checks"]["witnesses"]
                assert "gao" in ready.json()["checks"]["witnesses"]
                served = check_witness_policy(client.get("/v1/checkpoint").text, parse_vkey(root), policy)
                assert served.signed.checkpoint.size <= size  # nothing below quorum is served
                time.sleep(0.5)
                m = samples(client.get("/metrics", headers=op).text)
                assert m["dl_witness_policy"] == 1 and m["dl_checkpoint_not_witnessed_seconds"] > 0
                assert m["dl_witness_cosigned_size[('witness', 'tigta')]"] == size + 1

                t.by_name("gao").down = False  # back to 2 of 3: the background publisher catches up
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and client.get("/readyz").status_code != 200:
                    time.sleep(0.1)
                assert client.get("/readyz").status_code == 200
                latest = check_witness_policy(client.get("/v1/checkpoint").text, parse_vkey(root), policy)
                assert latest.signed.checkpoint.size == size + 1
                m = samples(client.get("/metrics", headers=op).text)
                assert m["dl_checkpoint_not_witnessed_seconds"] == 0
        finally:
            ledger.close()


def test_alert_rules_read_the_witness_metrics() -> None:
    """ops/prometheus/alerts.yml alerts on publication below quorum and on a log behind its witnesses,
    reading the gauges /metrics exports (their presence in a real answer: tests/api/test_metrics.py)."""
    import yaml

    rules = {r["alert"]: r for g in yaml.safe_load((Path(__file__).resolve().parents[2] / "ops" / "prometheus" /
                                                    "alerts.yml").read_text())["groups"] for r in g["rules"]}
    assert "dl_checkpoint_not_witnessed_seconds" in rules["CheckpointNotWitnessed"]["expr"]
    assert rules["CheckpointNotWitnessed"]["labels"]["severity"] == "critical"
    assert "dl_log_behind_witnesses_entries" in rules["LogBehindWitnesses"]["expr"]
