"""PII scan: after loading the demo, no TIN, name or address of the demo's people appears in
the log, the export, the database files (SQLite with its WAL, or a pg_dump of PostgreSQL) or
the application logs — only commitments, pseudonyms and ciphertext."""

from __future__ import annotations

import base64
import io
import logging
import re
import subprocess
from pathlib import Path

import pytest

from demo import scenario
from ledger.bootstrap import open_ledger
from ledger.client.keyring import Keyring
from ledger.core.b64 import b64decode
from ledger.core.canonical import parse_canonical
from ledger.core.entry import parse_entry
from ledger.core.statement import parse_statement
from ledger.domain.masterfile import MasterFile
from ledger.sealed import SealedKeys, SealedStore


def _variants(record) -> set[str]:
    """The values to look for, in the forms a leak could take."""
    out = set()
    tin = re.sub(r"\D", "", record.tin)
    out |= {tin, f"{tin[:3]}-{tin[3:5]}-{tin[5:]}", f"{tin[:3]} {tin[3:5]} {tin[5:]}"}
    for text in (record.name, record.address):
        for form in (text, text.upper(), text.lower(), re.sub(r"\s+", " ", text.replace(",", ""))):
            out.add(form)
    street = record.address.split(",")[0].split("\n")[0].strip()
    if len(street) >= 8:
        out |= {street, street.upper()}
    return {v for v in out if len(v) >= 6}


def _needles(records) -> list[bytes]:
    needles = set()
    for r in records:
        for v in _variants(r):
            needles.add(v.encode("utf-8"))
            needles.add(v.encode("utf-16-le"))
            needles.add(base64.b64encode(v.encode()))
            needles.add(v.encode().hex().encode())
    return sorted(needles)


def _hits(haystack: bytes, needles: list[bytes]) -> list[bytes]:
    """Needles found in the haystack. A needle of digits only counts where it is not part of a
    longer run of hex digits: bytea columns are dumped as hex, and a 9-digit TIN turns up by
    chance in megabytes of random hex (a TIN stored in clear would still be found, as its own
    digits between non-hex bytes or as the hex of its ASCII, another needle, 18 digits long)."""
    out = []
    for n in needles:
        if n not in haystack:
            continue
        if n.isdigit() and len(n) <= 11 and not re.search(rb"(?<![0-9a-fA-F])" + n + rb"(?![0-9a-fA-F])", haystack):
            continue
        out.append(n)
    return out


@pytest.mark.slow
def test_no_personal_data_outside_the_sealed_store(settings, tmp_path: Path):
    """TINs, names and addresses of the demo appear nowhere in clear."""
    log_file = tmp_path / "app.log"
    handler = logging.FileHandler(log_file)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        master = MasterFile.generate(scenario.MASTER_RECORDS, scenario.SEED)
        keys = SealedKeys.generate(tmp_path / "sealed-keys")
        with open_ledger(settings) as ledger, SealedStore(settings.db_url, keys) as sealed:
            report = scenario.load(ledger, sealed, keys, Keyring(tmp_path / "keyring"), master)
            assert report.lines_requested and report.lines_released and report.blocked
            assert sealed.count() > 0
            export = io.BytesIO()
            ledger.export(export)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()

    needles = _needles(master.records)
    assert len(needles) > 1000
    haystacks: dict[str, bytes] = {"export": export.getvalue(), "log": log_file.read_bytes()}
    decoded = []
    for line in export.getvalue().splitlines():
        entry = parse_entry(b64decode(parse_canonical(line)["entry_b64"]))
        decoded.append(entry.data)
        decoded.append(parse_statement(entry.statement).note.text.encode())
    haystacks["decoded entries and statements"] = b"\n".join(decoded)
    if settings.is_postgres:
        from storefix import postgres_base_url

        schema = settings.eventsourcing_env()["POSTGRES_SCHEMA"]
        dump = subprocess.run(["pg_dump", "--schema", schema, postgres_base_url()], capture_output=True,
                              check=True, timeout=120)
        haystacks["pg_dump"] = dump.stdout
        assert schema.encode() in dump.stdout and b"dl_entries" in dump.stdout
    else:
        db = Path(settings.eventsourcing_env()["SQLITE_DBNAME"])
        for f in sorted(db.parent.glob(db.name + "*")):  # the database, its -wal and -shm
            haystacks[f.name] = f.read_bytes()
    # the scan must be able to find something: a known value planted in a copy is found
    sample = next(iter(_variants(master.records[0]))).encode()
    assert _hits(haystacks["export"] + sample, needles)
    found = {name: _hits(data, needles)[:5] for name, data in haystacks.items()}
    assert all(not hits for hits in found.values()), found
