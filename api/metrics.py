"""Prometheus metrics for ``GET /metrics`` (operator token), built on ``prometheus_client``.

Two kinds, because the service may run as several uvicorn workers:

* **Read from the database at scrape time** (``LedgerCollector``): log size, checkpoint size,
  age and wait, blocked entries, projection positions and lag. Right whichever worker
  answers, and they count what the CLI appended too.
* **Counted by the process that served the request** (``ProcessMetrics``): statements by
  outcome and by refusal reason or rule, append latency, HTTP latency by route template.
  With ``PROMETHEUS_MULTIPROC_DIR`` set (``disclosure-ledger serve --workers N`` sets it) they
  are kept in files there and summed over every worker at scrape time; without it they are
  the answering process's own.

No label carries request input: routes are templates (``/v1/entries/{index}``), refusal
reasons and rule ids are the code's own identifiers (anything else becomes ``other``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from ledger.core.times import parse_time, utc_now

if TYPE_CHECKING:
    from api.state import AppState

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_IDENTIFIER = re.compile(r"[a-z0-9][a-z0-9_.()-]{0,79}")  # rule ids: 6103(i)(2).criminal_statute
OUTCOMES = ("stored", "duplicate", "blocked", "refused", "inspection")
APPEND_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series: they double the output and no alert reads them


def multiprocess_dir() -> str | None:
    """The directory prometheus_client's multiprocess mode keeps its files in, if set."""
    return os.environ.get(MULTIPROC_ENV) or None


def label(value: str) -> str:
    """A refusal reason or rule id as a label: the code's identifiers only, else ``other``."""
    return value if _IDENTIFIER.fullmatch(value) else "other"


@dataclass
class ProcessMetrics:
    """Counters and histograms of this process, in their own registry (one per app)."""

    registry: CollectorRegistry = field(default_factory=lambda: CollectorRegistry(auto_describe=True))

    def __post_init__(self) -> None:
        r = self.registry
        self.statements = Counter("dl_statements", "Statements submitted over HTTP, by outcome "
                                  "(stored, duplicate, blocked, refused, inspection)", ["outcome"], registry=r)
        self.refused = Counter("dl_statements_refused", "Statements refused with nothing stored, by reason "
                               "(signature, trust.unknown_key, statement.shape, ...)", ["reason"], registry=r)
        self.blocked = Counter("dl_statements_blocked", "Statements a § 6103 rule refused (recorded as blocked "
                               "entries), by the first rule", ["rule"], registry=r)
        self.append_seconds = Histogram("dl_append_seconds", "Time to check and append a submission (one "
                                        "statement or a batch), refusals included", ["kind"],
                                        buckets=APPEND_BUCKETS, registry=r)
        self.http_seconds = Histogram("dl_http_request_duration_seconds", "HTTP requests by route template, "
                                      "method and status", ["route", "method", "status"], registry=r)
        self.lookups_limited = Counter("dl_taxpayer_lookups_limited", "Taxpayer lookups refused by the per-token "
                                       "limit, by surface (api, web)", ["surface"], registry=r)
        for outcome in OUTCOMES:  # present from the start, so rate() and the alert rules see zeros
            self.statements.labels(outcome)
        self.refused.labels("signature")
        for surface in ("api", "web"):
            self.lookups_limited.labels(surface)

    def scrape(self, state: AppState) -> bytes:
        """The exposition text: this process's (or every worker's) counters and the database's gauges."""
        registry = CollectorRegistry(auto_describe=False)
        directory = multiprocess_dir()
        if directory:
            MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
            collectors: list[Collector] = [registry, LedgerCollector(state)]
        else:
            collectors = [self.registry, LedgerCollector(state)]
        return b"".join(generate_latest(c) for c in collectors)


class LedgerCollector(Collector):
    """Gauges read from the database when scraped (the same answer from every worker)."""

    def __init__(self, state: AppState) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("dl_database_up", "1 if the ledger's database answered this scrape")
        try:
            families = list(self._ledger()) + list(self._views())
        except Exception:  # the database is down: say so, and nothing else it would have told
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _ledger(self) -> Iterator[Metric]:
        ledger = self.state.ledger
        size = ledger.size()
        last = ledger.last_signed()
        blocked = ledger.refused_count()
        now = utc_now()
        yield GaugeMetricFamily("dl_log_size", "Entries in the log", value=size)
        cp_size = last[0] if last else 0
        yield GaugeMetricFamily("dl_checkpoint_size", "Tree size of the latest signed checkpoint", value=cp_size)
        yield GaugeMetricFamily("dl_checkpoint_signed", "1 if the ledger has signed a checkpoint",
                                value=1 if last else 0)
        if last:
            age = (now - parse_time(last[1])).total_seconds()
            yield GaugeMetricFamily("dl_checkpoint_age_seconds", "Seconds since the latest checkpoint was signed",
                                    value=max(0.0, age))
        waiting = 0.0
        if size > cp_size:
            from ledger.core.entry import parse_entry

            oldest = parse_time(parse_entry(ledger.entry(cp_size)).recorded_at)
            waiting = max(0.0, (now - oldest).total_seconds())
        yield GaugeMetricFamily("dl_checkpoint_behind_entries", "Entries not yet covered by a signed checkpoint",
                                value=max(0, size - cp_size))
        yield GaugeMetricFamily("dl_checkpoint_wait_seconds", "How long the oldest entry not covered by a "
                                "signed checkpoint has waited (0 when all are covered)", value=waiting)
        yield GaugeMetricFamily("dl_log_behind_checkpoint_entries", "Entries the log lacks against the last "
                                "checkpoint signed (a restored old backup; appends are refused while > 0)",
                                value=ledger.behind_last_checkpoint())
        yield from self._witnesses(size, now)
        yield CounterMetricFamily("dl_blocked_entries", "Blocked entries in the log (statements a rule refused), "
                                  "from every writer", value=blocked)

    def _witnesses(self, size: int, now: Any) -> Iterator[Metric]:
        status = self.state.ledger.publisher.status()
        yield GaugeMetricFamily("dl_witness_policy", "1 if a witness policy is configured (checkpoints are published "
                                "only once a quorum cosigned them), 0 if checkpoints are unwitnessed",
                                value=1 if status.witnessed else 0)
        failing = 0.0
        if status.failing_since:
            failing = max(0.0, (now - parse_time(status.failing_since)).total_seconds())
        yield GaugeMetricFamily("dl_checkpoint_not_witnessed_seconds", "How long publication rounds have failed "
                                "to get a quorum of cosignatures (0 while they succeed, or without a policy)",
                                value=failing)
        yield GaugeMetricFamily("dl_log_behind_witnesses_entries", "Entries the log lacks against the largest "
                                "checkpoint a witness showed it cosigned (a lost tail; appends are refused while > 0)",
                                value=max(0, status.high_water - size))
        held = GaugeMetricFamily("dl_witness_cosigned_size", "The tree size each witness of the policy was last "
                                 "known to hold", labels=["witness"])
        for w in status.witnesses:
            held.add_metric([w.name[:100]], w.size)  # names come from the operator's policy
        yield held

    def _views(self) -> Iterator[Metric]:
        views = self.state.reads.views
        views.create()
        runner = views.runner
        position = GaugeMetricFamily("dl_projection_position", "Entries the projection has applied "
                                     "(checkpoints: the last size copied)", labels=["projection"])
        lag = GaugeMetricFamily("dl_projection_lag_entries", "The projection's head minus its position "
                                "(entries not yet in the views)", labels=["projection"])
        for name, p in sorted(runner.projections.items()):
            at = runner.tracking.position(name)
            position.add_metric([name], at)
            lag.add_metric([name], max(0, p.head(runner.source) - at))
        yield position
        yield lag
