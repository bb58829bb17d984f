"""The dashboard over the demo ledger (the `make run` story), served by a real uvicorn on a free port,
with a token per role; and the browser: Debian's Chromium driven by Playwright (no downloads).

Browser tests skip only when Chromium or Playwright is genuinely missing AND neither ``CI`` nor
``LEDGER_TEST_REQUIRE_BROWSER`` is set; under CI they fail instead.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import tarfile
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.settings import ApiSettings
from api.tokens import TokenStore
from demo import scenario
from ledger.bootstrap import open_ledger
from ledger.client.keyring import Keyring
from ledger.config import Settings
from ledger.domain.masterfile import MasterFile
from ledger.sealed import SealedKeys, SealedStore

ROLES = ("oversight", "court", "operator")
CHROMIUM = os.environ.get("LEDGER_TEST_CHROMIUM", "/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("LEDGER_TEST_ARTIFACTS", REPO / "var" / "test-artifacts" / "web"))
AXE_CACHE = Path(os.environ.get("LEDGER_AXE_CACHE", Path.home() / ".cache" / "disclosure-ledger" / "axe"))


def browser_required() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("LEDGER_TEST_REQUIRE_BROWSER"))


def need(reason: str) -> None:
    """Skip with the reason, or fail when the browser is required (CI)."""
    if browser_required():
        pytest.fail(f"{reason} (required: CI or LEDGER_TEST_REQUIRE_BROWSER is set)")
    pytest.skip(f"{reason}; install Debian's chromium and `pip install playwright` (CI requires them)")


def axe_source() -> str:
    """axe-core's axe.min.js, fetched once from the npm registry with `npm pack` into a cache dir.

    On a fresh machine several test workers ask at once: a lock file makes one of them fetch it
    while the others wait, then find it there (a shared temporary name made them trip over each
    other's rename)."""
    target = AXE_CACHE / "axe.min.js"
    if target.exists():
        return target.read_text()
    AXE_CACHE.mkdir(parents=True, exist_ok=True)
    with (AXE_CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.exists():
            _fetch_axe(target)
    return target.read_text()


def _fetch_axe(target: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        need("npm is not installed (needed once to fetch axe-core)")
    out = subprocess.run([npm, "pack", "axe-core@4", "--pack-destination", str(AXE_CACHE)],
                         capture_output=True, text=True, timeout=120, cwd=AXE_CACHE)
    tgz = list(AXE_CACHE.glob("axe-core-*.tgz"))
    if out.returncode != 0 or not tgz:
        need(f"npm pack axe-core failed: {out.stderr[-300:]}")
    with tarfile.open(tgz[0]) as tar:
        member = tar.extractfile("package/axe.min.js")
        assert member is not None
        tmp = target.with_name(f"axe.min.{os.getpid()}.tmp")
        tmp.write_bytes(member.read())
        tmp.replace(target)


@dataclass
class Demo:
    base: str
    tokens: dict[str, str]
    ledger: Any
    keys: SealedKeys
    report: scenario.ScenarioReport
    master: MasterFile
    app: Any = None

    def released_tin(self) -> str:
        """A demo taxpayer whose line was released from the placeholder request, the one with blocked
        attempts (found through the views, by pseudonym)."""
        from projections.db import open_database
        from projections.queries import Queries

        views = open_database(self.ledger.settings.db_url)
        try:
            placeholder = self.report.requests["placeholder request"]
            released = {x["pseudonym"] for x in Queries(views).release_audit(limit=1000)["lines"].items
                        if x["request_id"] == placeholder}
        finally:
            views.close()
        for person in self.master.records:
            if self.keys.pseudonym(person.tin) in released:
                return str(person.tin)
        raise AssertionError("no released demo taxpayer")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(app: Any) -> tuple[str, Any]:
    """Serve an app with a real uvicorn on a free port; returns its base URL and a stopper."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    return f"http://127.0.0.1:{port}", stop


def start_demo(tmp: Path, db_url: str | None = None, **api_settings: Any) -> tuple[Demo, Any]:
    """Load the demo into a fresh ledger (SQLite under ``tmp`` unless ``db_url`` names another
    database) and serve the app (``api_settings``: ApiSettings fields); returns the Demo and a closer."""
    settings = Settings(db_url or f"sqlite:///{tmp}/ledger.sqlite3", tmp / "service-keys",
                        tmp / "service-keys" / "last-checkpoint.txt")
    ledger = open_ledger(settings)
    secrets = SealedKeys.generate(tmp / "sealed-keys")
    sealed = SealedStore(settings.db_url, secrets)
    master = MasterFile.generate(scenario.MASTER_RECORDS, scenario.SEED)
    report = scenario.load(ledger, sealed, secrets, Keyring(tmp / "keyring"), master)
    ledger.checkpoint(force=True)
    sealed.close()
    from projections.db import open_database
    from projections.runner import Runner
    from projections.source import LogSource

    views = open_database(settings.db_url)  # the views start caught up: tests may query them directly
    Runner(LogSource(views), views).catch_up()
    views.close()
    store = TokenStore(settings.db_url)
    tokens = {r: store.create(f"test.example/{r}", r, timedelta(hours=1))[0] for r in ROLES}
    store.close()

    api_settings.setdefault("taxpayer_lookups", 10_000)  # a module's tests share the tokens (tests/api/test_abuse.py)
    app = create_app(ApiSettings(settings, background_checkpoints=False, **api_settings), secrets, ledger=ledger)
    base, stop = serve(app)

    def close() -> None:
        stop()
        ledger.close()

    return Demo(base, tokens, ledger, secrets, report, master, app), close


def sign_in(page: Any, token: str) -> None:
    """Sign in to the dashboard in a browser page with an API token."""
    page.goto("/signin")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def check(page: Any, name: str) -> None:
    """axe-core on the page as it is now: no serious or critical violations; and a screenshot."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
           if v["impact"] in ("serious", "critical")]
    assert not bad, f"{name}: {bad}"
