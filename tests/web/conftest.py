"""Dashboard fixtures: the demo served on a free port (one per test module)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from webfix import start_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d, close = start_demo(tmp_path_factory.mktemp("web"))
    yield d
    close()
