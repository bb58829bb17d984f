"""Dashboard fixtures: the demo served on a free port (one per test module)."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from webfix import CHROMIUM, axe_source, need, start_demo


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_demo(request, tmp_path_factory):
    """The demo on SQLite, then on PostgreSQL (a schema of its own, dropped afterwards)."""
    if request.param == "sqlite":
        d, close = start_demo(tmp_path_factory.mktemp("web"))
        yield d
        close()
        return
    from storefix import drop_schema, postgres_base_url

    base = postgres_base_url()
    schema = "t_web_" + uuid.uuid4().hex[:12]
    try:
        d, close = start_demo(tmp_path_factory.mktemp("web-pg"), f"{base}?schema={schema}")
        try:
            yield d
        finally:
            close()
    finally:
        drop_schema(base, schema)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d, close = start_demo(tmp_path_factory.mktemp("web"))
    yield d
    close()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright (nothing downloaded), with axe-core to inject into pages."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need("Playwright's Python package is not installed")
    if not Path(CHROMIUM).exists():
        need(f"Chromium is not installed at {CHROMIUM}")
    axe = axe_source()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        b.axe = axe
        yield b
        b.close()


@pytest.fixture
def page(browser, demo):
    """A fresh page on the demo (downloads accepted); fails the test on any script error in it."""
    ctx = browser.new_context(base_url=demo.base, accept_downloads=True, viewport={"width": 1280, "height": 900})
    ctx.add_init_script(browser.axe)  # injected outside the page's CSP
    pg = ctx.new_page()
    pg.set_default_timeout(10_000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ctx.close()
    assert not errors, errors
