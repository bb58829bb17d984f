"""A witness (c2sp.org/tlog-witness) that an oversight body runs on its own machine.

It cosigns a log's checkpoint only when it extends the last one it cosigned for that log, keeps
that record in its own database, and keeps every validly signed submission it refused. Its code
imports nothing of the ledger but the integrity core (keys, notes, checkpoints, proofs,
cosignatures) and this package, so that the body running it can review all of it:

    settings.py  the witness's folder: settings (no secret) and key file
    state.py     its database (SQLite or PostgreSQL)
    service.py   the add-checkpoint checks and the monitoring answer
    http.py      the HTTP layer (ASGI, served by uvicorn)
    cli.py       `disclosure-ledger witness …`, also `python -m ledger.witness …`
"""
