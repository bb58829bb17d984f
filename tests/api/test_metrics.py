"""Prometheus /metrics over a real app and database: counters move by exactly what was sent,
the database gauges (checkpoint age and wait, log size, projection lag) follow the ledger, no
label carries a raw path, and every metric the alert rules use is in a real response."""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import yaml
from apifix import open_api
from domainfix import CIVIL
from prometheus_client.parser import text_string_to_metric_families

from ledger.core.keys import SignerKey
from ledger.core.times import format_time, utc_now

ALERTS = Path(__file__).resolve().parents[2] / "ops" / "prometheus" / "alerts.yml"
Sample = tuple[str, tuple[tuple[str, str], ...]]


def scrape(api) -> dict[Sample, float]:
    """Every sample of one /metrics response, keyed by (name, sorted labels)."""
    r = api.client.get("/metrics", headers=api.auth("operator"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(r.text) for s in f.samples}


def value(samples: dict[Sample, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_counters_move_by_exactly_what_was_sent(api):
    """One stored, one blocked, one badly signed and one unknown-key statement: each counter moves by exactly one."""
    before = scrape(api)
    assert api.client.post("/v1/statements", json=api.submission(api.request())).status_code == 201
    blocked = api.client.post("/v1/statements", json=api.submission(api.request(statute=CIVIL)))
    assert blocked.status_code == 422
    impostor = api.request(signer=SignerKey.generate(api.requester.name))  # the right name, another key
    bad_sig = api.client.post("/v1/statements", json=api.submission(impostor))
    stranger = api.request(signer=SignerKey.generate("stranger.example.gov/someone"))
    unknown = api.client.post("/v1/statements", json=api.submission(stranger))
    assert bad_sig.status_code == unknown.status_code == 403
    after = scrape(api)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("dl_statements_total", outcome="stored") == 1
    assert moved("dl_statements_total", outcome="blocked") == 1
    assert moved("dl_statements_total", outcome="refused") == 2
    assert moved("dl_statements_total", outcome="duplicate") == 0
    reasons = Counter([bad_sig.json()["rule"], unknown.json()["rule"]])
    assert reasons["trust.unknown_key"] >= 1
    for reason, n in reasons.items():
        assert moved("dl_statements_refused_total", reason=reason) == n
    assert moved("dl_statements_blocked_total", rule=blocked.json()["rule"]) == 1
    assert moved("dl_blocked_entries_total") == 1  # read from the database
    assert moved("dl_log_size") == 2  # the stored request and the blocked entry
    assert value(after, "dl_log_size") == api.ledger.size()
    assert moved("dl_append_seconds_count", kind="statement") == 4
    assert value(after, "dl_append_seconds_sum", kind="statement") > value(before, "dl_append_seconds_sum",
                                                                           kind="statement")
    route = "/v1/statements"
    assert moved("dl_http_request_duration_seconds_count", route=route, method="POST", status="201") == 1
    assert moved("dl_http_request_duration_seconds_count", route=route, method="POST", status="422") == 1
    assert moved("dl_http_request_duration_seconds_count", route=route, method="POST", status="403") == 2
    assert value(after, "dl_database_up") == 1


def test_http_latency_is_labelled_by_route_template_never_raw_path(api):
    """/v1/entries/0 and /v1/entries/1 count under /v1/entries/{index}; unknown paths as 'unmatched'."""
    for path in ("/v1/entries/0", "/v1/entries/1"):
        assert api.client.get(path, headers=api.auth("oversight")).status_code == 200
    api.client.get("/no/such/900-70-0001")
    api.client.request("BREW", "/v1/checkpoint")
    samples = scrape(api)
    assert value(samples, "dl_http_request_duration_seconds_count", route="/v1/entries/{index}", method="GET",
                 status="200") == 2
    assert value(samples, "dl_http_request_duration_seconds_count", route="unmatched", method="GET",
                 status="404") == 1
    assert value(samples, "dl_http_request_duration_seconds_count", route="/v1/checkpoint", method="other",
                 status="405") == 1
    labels = {v for (_, ls) in samples for _, v in ls}
    assert not any(v.startswith(("/v1/entries/0", "/v1/entries/1", "/no/")) or "900-70" in v for v in labels)


def test_checkpoint_age_and_wait_gauges(settings):
    """An old checkpoint shows its age; an entry no checkpoint covers shows its wait; signing clears the wait."""
    a, close = open_api(settings)
    try:
        a.ledger.checkpoint()
        size = a.ledger.latest_checkpoint().checkpoint.size
        an_hour_ago = format_time(utc_now() - timedelta(hours=1))
        with a.ledger.store.writing() as db:  # the real row, made old
            db.all(f"UPDATE {db.t('dl_checkpoints')} SET signed_at = %s WHERE size = %s RETURNING size",
                   (an_hour_ago, size))
        s = scrape(a)
        assert 3600 <= value(s, "dl_checkpoint_age_seconds") < 3700
        assert value(s, "dl_checkpoint_signed") == 1 and value(s, "dl_checkpoint_size") == size
        assert value(s, "dl_checkpoint_behind_entries") == 0 and value(s, "dl_checkpoint_wait_seconds") == 0

        a.ledger._last_checkpoint_at = float("inf")  # keep the append from signing one itself
        assert a.client.post("/v1/statements", json=a.submission(a.request())).status_code == 201
        time.sleep(0.3)
        s = scrape(a)
        assert value(s, "dl_checkpoint_behind_entries") == 1
        assert 0.3 <= value(s, "dl_checkpoint_wait_seconds") < 60
        assert value(s, "dl_log_behind_checkpoint_entries") == 0

        a.ledger.checkpoint()
        s = scrape(a)
        assert value(s, "dl_checkpoint_behind_entries") == 0 and value(s, "dl_checkpoint_wait_seconds") == 0
        assert value(s, "dl_checkpoint_age_seconds") < 60 and value(s, "dl_checkpoint_size") == a.ledger.size()
    finally:
        close()


def test_projection_lag_follows_the_log(api):
    """Lag = head minus tracked position: the whole log before a catch-up, 0 after, 1 after an append."""
    views = api.client.app.state.dl.reads.views
    s = scrape(api)
    size = api.ledger.size()
    assert value(s, "dl_projection_position", projection="disclosures") == 0
    assert value(s, "dl_projection_lag_entries", projection="disclosures") == size
    while views.step():
        pass
    s = scrape(api)
    for name in views.runner.projections:
        assert value(s, "dl_projection_lag_entries", projection=name) == 0, name
    assert value(s, "dl_projection_position", projection="disclosures") == size
    assert api.client.post("/v1/statements", json=api.submission(api.request())).status_code == 201
    s = scrape(api)
    assert value(s, "dl_projection_lag_entries", projection="disclosures") == 1


# ---- the alert rules -----------------------------------------------------------------------

PROMQL_WORDS = {
    "sum", "max", "min", "avg", "count", "rate", "irate", "increase", "delta", "histogram_quantile", "by",
    "without", "and", "or", "unless", "offset", "bool", "on", "ignoring", "group_left", "group_right", "absent",
    "clamp_min", "clamp_max", "topk", "bottomk", "time", "vector", "scalar", "inf", "nan",
}
PROMETHEUS_OWN = {"up"}  # written by Prometheus for each target, not by the service
EXPECTED_ALERTS = {"DisclosureLedgerDown", "CheckpointTooOld", "ProjectionLagHigh", "AppendLatencyP99High",
                   "BlockedStatementsSpike", "RefusedSignatureSpike", "TaxpayerLookupsRateLimited"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (strings, label matchers, ranges and groupings removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    words = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", text))
    return {w for w in words if w not in PROMQL_WORDS and not re.fullmatch(r"\d+[smhdwy]", w)}


def test_metric_names_parser_finds_names_and_skips_the_rest():
    """The helper sees metric names, not functions, labels, regexes or durations."""
    expr = 'histogram_quantile(0.99, sum by (job, le) (rate(dl_x_bucket{kind=~"a|b_c"}[5m]))) > on(job) up'
    assert metric_names(expr) == {"dl_x_bucket", "up"}


def test_every_alert_reads_metrics_the_service_exports(api):
    """The alert rules are well formed, the required ones exist, and every metric they read is exported."""
    # Traffic first, so the labelled series exist: a stored, a blocked and a badly signed statement.
    api.client.post("/v1/statements", json=api.submission(api.request()))
    api.client.post("/v1/statements", json=api.submission(api.request(statute=CIVIL)))
    api.client.post("/v1/statements", json=api.submission(api.request(signer=SignerKey.generate(api.requester.name))))
    exported = {name for name, _ in scrape(api)}
    rules = [r for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]]
    assert {r["alert"] for r in rules} >= EXPECTED_ALERTS
    for rule in rules:
        assert set(rule) >= {"alert", "expr", "labels", "annotations"}, rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning") and rule["annotations"]["summary"]
        names = metric_names(rule["expr"])
        assert names, rule["alert"]
        missing = names - exported - PROMETHEUS_OWN
        assert not missing, f"{rule['alert']} reads {sorted(missing)}, which /metrics does not export"
