"""The matcher's own store: an extract of the IRS master file, encrypted at rest.

The operator loads an extract (CSV, below) with ``disclosure-ledger matcher import-master``; the
matcher reads it back into a ``MasterFile`` when it runs. Nothing of it is ever logged: errors
name a row and a field, never a value.

**Extract (CSV, UTF-8, a header row first).** Columns, in any order, exactly these::

    tin,tin_type,name,address,dob
    900-70-0001,ITIN,Fictional One,"1 Elm St, Boston, MA 02110",1980-04-01

``tin``: 9 digits (hyphens and spaces allowed), unique in the file; ``tin_type``: ITIN or SSN;
``name`` and ``address``: non-empty text as the IRS holds it; ``dob``: YYYY-MM-DD or empty.
Every row is checked before anything is written: one bad row and nothing is imported.

**Store file.** ``dl-matcher-store/v1`` LF, then one line of canonical JSON
``{"format", "key_id", "normalised_by", "records"}``, then libsodium's secretstream
(XChaCha20-Poly1305) under the store key: its 24-byte header, then frames, each a 4-byte
big-endian length and a sealed block of up to ``BLOCK`` records (canonical JSON, a list of
``[tin, tin_type, name, address, dob, name key, address key]``, the keys the name and address
normalised at import by the rules ``normalised_by`` names, so a run need not redo it); the last
frame carries the FINAL tag, so a truncated file is refused, and every frame authenticates the
JSON line as associated data. Written to a new file (mode 0600) and renamed
over the old one: a store is replaced whole, never half.

**Store key.** 32 random bytes, base64 in a file of mode 0600 that the operator makes with
``disclosure-ledger matcher new-key --out FILE`` and keeps with the sealed-store keys (a lost one
costs a new key and a new import, nothing in the log). There is
no default: without LEDGER_MATCHER_KEY_FILE (or ``--store-key``) nothing is read or written.
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import struct
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import IO

import nacl.bindings as sodium
import nacl.exceptions

from ledger.core.canonical import canonical_bytes, parse_canonical
from ledger.core.errors import LedgerError
from ledger.domain.address import ADDRESS_RULES_VERSION, normalise_address
from ledger.domain.masterfile import TIN_TYPES, MasterFile, TaxpayerRecord
from ledger.domain.matcher import MATCHER_VERSION, TinFormatError, normalise_name, normalise_tin
from ledger.sealed.keyfile import read_secret, write_new_secret
from ledger.sealed.keys import key_id

STORE_FORMAT = "dl-matcher-store/v1"
COLUMNS = ("tin", "tin_type", "name", "address", "dob")
BLOCK = 10_000
KEY_SIZE = 32
ENV_KEY_FILE = "LEDGER_MATCHER_KEY_FILE"
ENV_STORE = "LEDGER_MATCHER_STORE"
_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_DOB = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_MAX_FIELD = 512
# The rules the stored names and addresses were normalised by, at import (the matcher's and the address rules').
NORMALISED_BY = f"{MATCHER_VERSION}/{ADDRESS_RULES_VERSION}"


class MatcherStoreError(LedgerError):
    """The matcher's store or its key cannot be used; the message never quotes a record."""


class ExtractError(MatcherStoreError):
    """A master-file extract that is refused: names the file, the row and the field, never the value."""


def new_key(path: Path) -> str:
    """Write a fresh store key to ``path`` (a new file, mode 0600); return its public key id."""
    key = secrets.token_bytes(KEY_SIZE)
    write_new_secret(path, key, MatcherStoreError)
    return key_id("matcher-store", key)


def read_key(path: Path | None) -> bytes:
    """The store key from ``path`` (or LEDGER_MATCHER_KEY_FILE); no default."""
    if path is None:
        env = os.environ.get(ENV_KEY_FILE)
        if not env:
            raise MatcherStoreError(f"no matcher store key: set {ENV_KEY_FILE} or pass --store-key FILE "
                                    "(made once with `disclosure-ledger matcher new-key --out FILE`)")
        path = Path(env)
    key = read_secret(path, "the matcher store key", MatcherStoreError)
    if len(key) != KEY_SIZE:
        raise MatcherStoreError(f"the matcher store key in {path} is {len(key)} bytes, not {KEY_SIZE}")
    return key


def _field(row: dict[str, str], name: str, where: str) -> str:
    value = (row.get(name) or "").strip()
    if len(value) > _MAX_FIELD:
        raise ExtractError(f"{where}, field {name}: longer than {_MAX_FIELD} characters")
    return value


def read_extract(f: IO[str], name: str) -> Iterator[list[str | None]]:
    """Each row of an extract as ``[tin, tin_type, name, address, dob, name key, address key]`` (the
    last two normalised for matching), checked; ExtractError at the first bad row (``name``: the file)."""
    reader = csv.DictReader(f)
    header = [h.strip() for h in (reader.fieldnames or [])]
    if sorted(header) != sorted(COLUMNS):
        missing = [c for c in COLUMNS if c not in header]
        extra = [h for h in header if h not in COLUMNS]
        what = f"missing column {missing[0]!r}" if missing else f"unknown column {extra[0][:40]!r}" if extra \
            else "a column appears twice"
        raise ExtractError(f"{name}: the header must be {','.join(COLUMNS)} ({what})")
    reader.fieldnames = header
    seen: set[str] = set()
    for number, row in enumerate(reader, start=2):  # row 1 is the header, as a spreadsheet counts
        where = f"{name}: row {number}"
        if None in row or any(v is None for v in row.values()):
            raise ExtractError(f"{where}: {len(COLUMNS)} fields expected")
        try:
            tin = normalise_tin(_field(row, "tin", where))
        except TinFormatError:
            raise ExtractError(f"{where}, field tin: not 9 digits (hyphens and spaces allowed)") from None
        if tin in seen:
            raise ExtractError(f"{where}, field tin: a TIN an earlier row holds")
        seen.add(tin)
        tin_type = _field(row, "tin_type", where).upper()
        if tin_type not in TIN_TYPES:
            raise ExtractError(f"{where}, field tin_type: must be one of {', '.join(TIN_TYPES)}")
        person = _field(row, "name", where)
        if not person:
            raise ExtractError(f"{where}, field name: empty")
        address = _field(row, "address", where)
        if not address:
            raise ExtractError(f"{where}, field address: empty")
        dob = _field(row, "dob", where) or None
        if dob is not None:
            try:
                if not _DOB.match(dob):
                    raise ValueError
                date.fromisoformat(dob)
            except ValueError:
                raise ExtractError(f"{where}, field dob: not a date YYYY-MM-DD (or empty)") from None
        yield [tin, tin_type, person, address, dob, normalise_name(person), normalise_address(address)]


def _header(key: bytes, records: int) -> bytes:
    meta = {"format": STORE_FORMAT, "key_id": key_id("matcher-store", key), "records": records,
            "normalised_by": NORMALISED_BY}
    return STORE_FORMAT.encode() + b"\n" + canonical_bytes(meta) + b"\n"


def import_extract(extract: Path, store: Path, key: bytes) -> int:
    """Check every row of ``extract`` and replace ``store`` with them, encrypted; the number of records.

    The rows are checked and sealed into a new file beside the store; only when the whole extract
    passed is it renamed over the old store (on any error it is deleted: nothing is imported)."""
    try:
        f = extract.open(encoding="utf-8-sig", newline="")
    except OSError as e:
        raise ExtractError(f"{extract}: cannot be read ({e.strerror})") from None
    rows: list[list[str | None]] = []
    with f:
        try:
            rows.extend(read_extract(f, str(extract)))
        except UnicodeDecodeError:
            raise ExtractError(f"{extract}: not UTF-8 text") from None
        except csv.Error as e:
            raise ExtractError(f"{extract}: not CSV ({e})") from None
    if not rows:
        raise ExtractError(f"{extract}: no records after the header")
    store.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = store.with_name(f".{store.name}.{secrets.token_hex(4)}.tmp")
    head = _header(key, len(rows))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(head)
            state = sodium.crypto_secretstream_xchacha20poly1305_state()
            out.write(sodium.crypto_secretstream_xchacha20poly1305_init_push(state, key))
            for start in range(0, len(rows), BLOCK):
                last = start + BLOCK >= len(rows)
                sealed = sodium.crypto_secretstream_xchacha20poly1305_push(
                    state, canonical_bytes(rows[start:start + BLOCK]), head, _FINAL if last else _MESSAGE)
                out.write(struct.pack(">I", len(sealed)) + sealed)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, store)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return len(rows)


def load_master(store: Path, key: bytes) -> MasterFile:
    """The store's records as a MasterFile; MatcherStoreError if it is missing, altered, truncated
    or sealed under another key."""
    try:
        data = store.read_bytes()
    except FileNotFoundError:
        raise MatcherStoreError(f"no matcher store at {store}: load an extract with "
                                "`disclosure-ledger matcher import-master FILE`") from None
    except OSError as e:
        raise MatcherStoreError(f"the matcher store {store} cannot be read ({e.strerror})") from None
    first = data.find(b"\n")
    second = data.find(b"\n", first + 1)
    if data[:first].decode("ascii", "replace") != STORE_FORMAT or second < 0:
        raise MatcherStoreError(f"{store} is not a matcher store ({STORE_FORMAT})")
    head = data[:second + 1]
    try:
        meta = parse_canonical(data[first + 1:second])
        count = int(meta["records"])
        stored_key_id = str(meta["key_id"])
        keyed = meta.get("normalised_by") == NORMALISED_BY
    except (LedgerError, KeyError, TypeError, ValueError):
        raise MatcherStoreError(f"{store}: its header is malformed") from None
    if stored_key_id != key_id("matcher-store", key):
        raise MatcherStoreError(f"{store} is sealed under the key {stored_key_id}, not the key "
                                f"{key_id('matcher-store', key)} given")
    pos = second + 1
    header_size = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    records: list[TaxpayerRecord] = []
    keys: list[tuple[str, str]] = []
    try:
        sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, data[pos:pos + header_size], key)
        pos += header_size
        tag = _MESSAGE
        while tag != _FINAL:
            if pos + 4 > len(data):
                raise MatcherStoreError(f"{store} is truncated")
            (size,) = struct.unpack(">I", data[pos:pos + 4])
            block, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(state, data[pos + 4:pos + 4 + size], head)
            pos += 4 + size
            for row in json.loads(block):
                records.append(TaxpayerRecord(*row[:5]))
                keys.append((row[5], row[6]))
    except (nacl.exceptions.CryptoError, ValueError, TypeError, IndexError):
        raise MatcherStoreError(f"{store} does not decrypt under the key given (altered or truncated)") from None
    if pos != len(data) or len(records) != count:
        raise MatcherStoreError(f"{store} holds {len(records)} records and {len(data) - pos} stray bytes; "
                                f"its header says {count}")
    # Names and addresses normalised at import by these very rules are taken as they are; normalised by
    # another version of the rules, they are normalised again (slower, and the same answers as today's).
    return MasterFile(records, keys if keyed else None)


def default_store(var: Path) -> Path:
    """LEDGER_MATCHER_STORE, else ``<var>/matcher/master.store``."""
    env = os.environ.get(ENV_STORE)
    return Path(env) if env else var / "matcher" / "master.store"
