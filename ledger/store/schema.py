"""The ledger's tables: the log (its entries, refused ids and checkpoints) and what publication keeps."""

from __future__ import annotations

# Tables an earlier release kept beside dl_entries: eventsourcing's events table, a second copy of
# every statement that nothing read or verified (SQLite's name, PostgreSQL's). Dropped by migration.
LEGACY_EVENT_TABLES = ("stored_events", "ledger_events")
LEGACY_PG_FUNCTION, LEGACY_PG_TYPE = "es_insert_events_uuid", "stored_event_uuid"
# The columns of dl_entries, in order, as every INSERT names them.
ENTRY_COLUMNS = "idx, prev, leaf_hash, recorded_at, statement_id, stype, nodes, entry"


def ddl(prefix: str, blob: str, bigint: str) -> list[str]:
    """CREATE statements; ``prefix`` is '' (SQLite) or '"schema".' (PostgreSQL).

    One row per entry: its bytes, its leaf hash and the tree nodes its append completed
    (see ledger/store/tree.py): the log's only copy of each statement.
    """
    p = prefix
    return [
        f"CREATE TABLE IF NOT EXISTS {p}dl_entries ("
        f" idx {bigint} PRIMARY KEY,"
        f" prev {blob} NOT NULL UNIQUE,"  # a second guard against forks: one successor per entry
        f" leaf_hash {blob} NOT NULL,"
        " recorded_at TEXT NOT NULL,"
        " statement_id TEXT NOT NULL UNIQUE,"
        " stype TEXT NOT NULL,"
        f" nodes {blob} NOT NULL,"
        f" entry {blob} NOT NULL)",
        # Ids of statements a rule refused (each recorded by a `blocked` entry): refused from then on.
        f"CREATE TABLE IF NOT EXISTS {p}dl_refused ("
        " statement_id TEXT PRIMARY KEY,"
        f" idx {bigint} NOT NULL,"
        f" sha256 {blob} NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS {p}dl_checkpoints ("
        f" size {bigint} PRIMARY KEY,"
        f" root {blob} NOT NULL,"
        " note TEXT NOT NULL,"
        " signed_at TEXT NOT NULL)",
        # The publisher's knowledge of each witness of the policy: the size it last cosigned (so that
        # the next request carries the right old size from whichever process publishes), and that
        # cosignature line, reused while the same checkpoint is still waiting for its quorum.
        f"CREATE TABLE IF NOT EXISTS {p}dl_witnesses ("
        " name TEXT PRIMARY KEY,"
        " vkey TEXT NOT NULL,"
        f" size {bigint} NOT NULL,"
        " line TEXT,"
        " answered_at TEXT,"
        " problem TEXT)",
        # One row: how publication stands (read by /readyz and /metrics of every process).
        f"CREATE TABLE IF NOT EXISTS {p}dl_publication ("
        " id INTEGER PRIMARY KEY,"
        " attempted_at TEXT NOT NULL,"
        f" signed_size {bigint} NOT NULL,"
        f" published_size {bigint} NOT NULL,"
        " failing_since TEXT,"
        " problem TEXT,"
        f" high_water {bigint} NOT NULL,"
        " high_water_by TEXT)",
        # Taxpayer pseudonyms computed at ingest of a match result (HMAC of the matched TIN),
        # so projections rebuild without decrypting the sealed store. Not part of the log.
        f"CREATE TABLE IF NOT EXISTS {p}dl_pseudonyms ("
        f" idx {bigint} NOT NULL,"
        " line INTEGER NOT NULL,"
        " pseudonym TEXT NOT NULL,"
        " PRIMARY KEY (idx, line))",
    ]
