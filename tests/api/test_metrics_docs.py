"""Every metric name the documentation mentions is one `/metrics` really exposes (on a real app and
database): the docs cannot promise a series an operator's dashboard or alert would wait for in vain."""

from __future__ import annotations

import re
from pathlib import Path

from apifix import open_api
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "api" / "web" / "README.md"]
_NAME = re.compile(r"\bdl_[a-z_]+[a-z]\b")
# dl_ names in the docs that are not metrics (nor tables): the reverse proxy's rate-limit zones in
# OPERATIONS' nginx example, and the dashboard's session cookie.
NOT_METRICS = {"dl_conn", "dl_req", "dl_session"}


def _tables() -> set[str]:
    """The ledger's database tables (named dl_… too): every CREATE TABLE in the code."""
    names: set[str] = set()
    for folder in ("ledger", "projections", "api"):
        for path in (ROOT / folder).rglob("*.py"):
            names.update(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(?:\{[^}]*\})?\"?(dl_[a-z_]+)",
                                    path.read_text(encoding="utf-8")))
    return names


def documented_metrics() -> dict[str, str]:
    """Each dl_ name in the docs that is not a table, with the first file naming it."""
    tables = _tables()
    found: dict[str, str] = {}
    for doc in DOCS:
        for name in _NAME.findall(doc.read_text(encoding="utf-8")):
            if name not in tables and name not in NOT_METRICS:
                found.setdefault(name, doc.name)
    return found


def test_every_documented_metric_is_exposed(settings):
    api, close = open_api(settings)
    try:
        r = api.client.get("/metrics", headers=api.auth("operator"))
        assert r.status_code == 200
        families = list(text_string_to_metric_families(r.text))
    finally:
        close()
    exposed = {f.name for f in families} | {s.name for f in families for s in f.samples}
    exposed |= {f"{f.name}_total" for f in families if f.type == "counter"}  # a counter with no sample yet
    documented = documented_metrics()
    assert "dl_statements_total" in documented and "dl_log_size" in documented  # the scan finds them
    missing = {name: doc for name, doc in documented.items() if name not in exposed}
    assert not missing, f"documented but not in /metrics: {missing}"
