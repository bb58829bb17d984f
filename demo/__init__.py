"""The demo: the 2025 story at small scale, on fictional people (`make run`, i.e. ``python -m demo`` from
the repository root), and at any size (``bulk_story``, for tests and the bulk benchmark). Not installed
with the ledger: nothing under ledger/, api/ or projections/ imports it."""
