"""Test-wide set-up: make the plain helper modules in tests/ (``corebuild``) and the repository's
non-installed packages (``demo``, ``bench``) importable.

tests/ is deliberately not a package; this puts its directory on sys.path whatever
pytest's import mode, so any test can ``import corebuild``.
"""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS_DIR = str(Path(__file__).resolve().parent)
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)
# The repository root, for the packages that are not installed: ``demo`` (the story `make run` loads,
# at any size) and ``bench`` (``bench.forked``), whichever directory pytest is started from.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(1, _ROOT)

# Store fixtures (backend_url, settings, world) for contract and integration tests.
from storefix import backend_url, settings, world  # noqa: E402, F401
