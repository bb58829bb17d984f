"""ledger.sealed.SealedStore on real SQLite and real PostgreSQL (each test in a fresh
database or schema, via storefix's ``backend_url``); raw SQL checks what is at rest."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from storefix import drop_schema, postgres_base_url

from ledger.core.commitments import Opening, OpeningMismatch, commit
from ledger.sealed import (
    OpeningNotFound,
    SealedDecryptionError,
    SealedKeyError,
    SealedKeys,
    SealedStore,
)
from ledger.sealed import store as store_module
from ledger.sealed.box import OpeningBox

TIN = "912701234"
ADDRESS = "742 Evergreen Terrace, Springfield OR 97477"
NAME = "Ñandú Pérez-Gutiérrez"
REASON = "ex parte order 25-MJ-0042, grand jury subpoena"


class RawDb:
    """Plain driver access to the sealed table, bypassing the store (sqlite3 or psycopg)."""

    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        self.is_sqlite = parsed.scheme == "sqlite"
        if self.is_sqlite:
            self.path = Path(url.removeprefix("sqlite://"))
            self.table = "sealed_openings"
            self.groups = "sealed_groups"
        else:
            self.base = url.split("?", 1)[0]
            self.schema = parse_qs(parsed.query)["schema"][0]
            self.table = f'"{self.schema}".sealed_openings'
            self.groups = f'"{self.schema}".sealed_groups'

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        sql = sql.replace("{t}", self.table).replace("{g}", self.groups)
        if self.is_sqlite:
            with sqlite3.connect(self.path) as conn:
                rows = conn.execute(sql, params).fetchall()
            conn.close()
            return rows
        import psycopg

        with psycopg.connect(self.base, autocommit=True) as pg:
            cursor = pg.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []

    def all_bytes(self) -> bytes:
        """Every column of every row, as bytes."""
        out = b""
        for row in self.query("SELECT commitment, ciphertext, stored_at FROM {t}"):
            for value in row:
                out += bytes(value) if isinstance(value, (bytes, memoryview)) else str(value).encode("utf-8")
        return out


@pytest.fixture
def keys() -> SealedKeys:
    return SealedKeys.random()


@pytest.fixture
def store(backend_url: str, keys: SealedKeys) -> Iterator[SealedStore]:
    with SealedStore(backend_url, keys) as s:
        yield s


@pytest.fixture
def raw(backend_url: str, store: SealedStore) -> RawDb:
    return RawDb(backend_url)


def sample() -> list[Opening]:
    return [
        commit("tin", TIN),
        commit("address", {"line1": ADDRESS, "zip": "97477"}),
        commit("name", NAME),
        commit("request.reason", REASON),
        commit("line_count", 1_280_000),
    ]


def test_put_get_round_trip(store: SealedStore) -> None:
    """Every stored opening comes back equal, by get and by get_many."""
    openings = sample()
    assert store.put_many(openings) == [o.commitment for o in openings]
    assert store.count() == len(openings)
    for opening in openings:
        got = store.get(opening.commitment)
        assert (got.field, got.value, got.salt) == (opening.field, opening.value, opening.salt)
    assert store.get_many(o.commitment for o in openings) == {o.commitment: o for o in openings}


def test_put_many_is_idempotent(store: SealedStore) -> None:
    """Storing the same openings again, or twice in one batch, keeps one row per commitment."""
    openings = sample()
    store.put_many(openings + openings[:2])
    store.put_many(openings)
    assert store.count() == len(openings)


def test_bulk_put_and_get_cross_batch_boundaries(store: SealedStore) -> None:
    """Thousands of openings go in one call and come back through batched reads."""
    openings = [commit("tin", f"{900000000 + i:09d}") for i in range(store_module.WRITE_BATCH + 1234)]
    store.put_many(openings)
    assert store.count() == len(openings)
    got = store.get_many(o.commitment for o in openings)
    assert len(got) == len(openings)
    assert got[openings[-1].commitment].value == openings[-1].value


def test_put_many_is_one_transaction(store: SealedStore, keys: SealedKeys, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure in a later batch leaves nothing from the earlier batches stored."""

    batches = store_module._chunks

    def failing(items, size):  # the third batch's INSERT never runs: the first two must roll back
        for i, batch in enumerate(batches(items, size)):
            if i == 2:
                raise RuntimeError("disk on fire")
            yield batch

    monkeypatch.setattr(store_module, "WRITE_BATCH", 2)
    monkeypatch.setattr(store_module, "_chunks", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.put_many(sample())
    assert store.count() == 0


def test_nothing_in_clear_at_rest(store: SealedStore, raw: RawDb) -> None:
    """A raw SELECT of the table finds no value, salt or TIN layout; only hashes and ciphertext."""
    openings = sample()
    store.put_many(openings)
    at_rest = raw.all_bytes()
    needles = [TIN.encode(), b"912-70-1234", ADDRESS.encode(), b"Evergreen", NAME.encode("utf-8"),
               "Pérez".encode(), REASON.encode(), b"25-MJ-0042", b"1280000", b'"value"', b'"salt"']
    needles += [o.salt for o in openings]
    for needle in needles:
        assert needle not in at_rest, needle
    rows = raw.query("SELECT commitment FROM {t} ORDER BY commitment")
    assert [r[0] for r in rows] == sorted(o.commitment for o in openings)


def test_sqlite_file_holds_no_plaintext(tmp_path: Path, keys: SealedKeys) -> None:
    """On SQLite, the database file and its journal contain none of the values."""
    url = f"sqlite:///{tmp_path}/ledger.sqlite3"
    with SealedStore(url, keys) as store:
        store.put_many(sample())
    data = b"".join(p.read_bytes() for p in tmp_path.glob("ledger.sqlite3*"))
    assert data
    for needle in (TIN.encode(), b"Evergreen", NAME.encode("utf-8"), b"25-MJ-0042"):
        assert needle not in data


def test_swapped_ciphertexts_are_detected(store: SealedStore, raw: RawDb) -> None:
    """Exchanging two rows' ciphertexts makes each get fail with the expected and found commitment."""
    a, b = commit("tin", TIN), commit("tin", "912701235")
    store.put_many([a, b])
    ct = dict(raw.query("SELECT commitment, ciphertext FROM {t}"))
    raw.query("UPDATE {t} SET ciphertext = ? WHERE commitment = ?", (bytes(ct[b.commitment]), a.commitment))
    raw.query("UPDATE {t} SET ciphertext = ? WHERE commitment = ?", (bytes(ct[a.commitment]), b.commitment))
    with pytest.raises(OpeningMismatch) as info:
        store.get(a.commitment)
    assert (info.value.expected, info.value.found) == (a.commitment, b.commitment)
    with pytest.raises(OpeningMismatch):
        store.get_many([b.commitment])


def test_altered_ciphertext_is_detected(store: SealedStore, raw: RawDb) -> None:
    """One flipped bit in a stored ciphertext is refused by authentication."""
    opening = commit("tin", TIN)
    store.put_many([opening])
    (ciphertext,) = raw.query("SELECT ciphertext FROM {t}")[0]
    altered = bytearray(bytes(ciphertext))
    altered[30] ^= 0x01
    raw.query("UPDATE {t} SET ciphertext = ?", (bytes(altered),))
    with pytest.raises(SealedDecryptionError):
        store.get(opening.commitment)


def test_erase_removes_openings(store: SealedStore) -> None:
    """erase deletes exactly the named openings; get then says not found; erasing again is a no-op."""
    a, b, c = sample()[:3]
    store.put_many([a, b, c])
    assert store.erase([a.commitment, b.commitment, a.commitment]) == 2
    assert store.count() == 1
    with pytest.raises(OpeningNotFound):
        store.get(a.commitment)
    assert store.get_many([a.commitment, c.commitment]) == {c.commitment: c}
    assert store.erase([a.commitment]) == 0


def test_wrong_keys_are_refused_on_open(backend_url: str, store: SealedStore, keys: SealedKeys) -> None:
    """A store opened with another sealed or pseudonym key fails at once, naming the key ids."""
    store.put_many(sample())
    other = SealedKeys.random()
    wrong_sealed = SealedKeys(other.sealed_key, keys.pseudonym_key)
    wrong_pseudonym = SealedKeys(keys.sealed_key, other.pseudonym_key)
    for wrong in (other, wrong_sealed, wrong_pseudonym):
        with pytest.raises(SealedKeyError, match="wrong keys") as info:
            SealedStore(backend_url, wrong)
        assert keys.sealed_key_id in str(info.value) or keys.pseudonym_key_id in str(info.value)
    with SealedStore(backend_url, keys) as again:
        assert again.count() == len(sample())


def test_row_under_another_sealed_key_is_refused(store: SealedStore, raw: RawDb) -> None:
    """A ciphertext written under a different sealed key does not decrypt."""
    opening = commit("tin", TIN)
    store.put_many([opening])
    foreign = OpeningBox(SealedKeys.random().sealed_key).seal(opening)
    raw.query("UPDATE {t} SET ciphertext = ?", (foreign,))
    with pytest.raises(SealedDecryptionError, match="wrong sealed key"):
        store.get(opening.commitment)


def test_missing_opening_is_a_typed_error(store: SealedStore) -> None:
    """get of an unknown commitment raises OpeningNotFound carrying it."""
    missing = commit("tin", TIN).commitment
    with pytest.raises(OpeningNotFound) as info:
        store.get(missing)
    assert info.value.commitment == missing


@pytest.mark.postgres
def test_postgres_schema_is_created_and_holds_both_tables(keys: SealedKeys) -> None:
    """On PostgreSQL the schema named in the URL is created if missing and holds the three tables."""
    base = postgres_base_url()
    schema = "t_" + uuid.uuid4().hex[:16]
    try:
        with SealedStore(f"{base}?schema={schema}", keys) as store:
            store.put_many(sample())
        raw = RawDb(f"{base}?schema={schema}")
        rows = raw.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name",
            (schema,),
        )
        assert [r[0] for r in rows] == ["sealed_groups", "sealed_key_ids", "sealed_openings", "sealed_salt_seeds"]
        assert raw.query("SELECT COUNT(*) FROM {t}") == [(len(sample()),)]
    finally:
        drop_schema(base, schema)


def test_shares_the_ledgers_database(world: Any, keys: SealedKeys) -> None:
    """The sealed store sits beside a live ledger on the same database URL without disturbing it."""
    opening = commit("tin", TIN)
    with SealedStore(world.settings.db_url, keys) as sealed:
        sealed.put_many([opening])
        world.ledger.append(world.statement(tin_commitment=opening.commitment))
        assert sealed.get(opening.commitment).value == TIN
    counts = world.row_counts()
    assert counts["dl_entries"] == 5


def _group_sample() -> list[Opening]:
    return [commit("tin", f"91270{k:04d}") for k in range(40)] + [commit("name", NAME), commit("address", ADDRESS)]


def test_groups_round_trip_idempotent_and_counted(store: SealedStore) -> None:
    """A group (a bulk chunk's openings) is stored once, opened by naming it, counted by its members;
    get_many finds grouped and single openings together; a group not named is not searched."""
    grouped, single = _group_sample(), commit("tin", TIN)
    g = store.seal_group("req-1.c0", grouped + grouped[:3])  # repeats sealed once
    assert g.openings == len(grouped)
    store.put_groups([g])
    store.put_groups([g, store.seal_group("req-1.c0", grouped[:1])])  # already stored: left as it is
    store.put_many([single])
    assert store.count() == len(grouped) + 1
    assert store.groups_present(["req-1.c0", "req-1.c1"]) == {"req-1.c0"}
    wanted = [o.commitment for o in grouped[::7]] + [single.commitment]
    got = store.get_many(wanted, groups=["req-1.c0", "req-1.c1"])
    assert list(got) == wanted and all(got[c].commitment == c for c in wanted)
    assert store.get_many(wanted) == {single.commitment: single}
    assert {o.value for o in store.group_openings(["req-1.c0"])["req-1.c0"].values()} >= {NAME, ADDRESS}
    assert store.delete_groups(["req-1.c0", "nothing"]) == 1 and store.count() == 1


def test_get_many_with_fields_rebuilds_only_those_fields_of_a_group(store: SealedStore) -> None:
    """``fields`` names the fields of the wanted commitments: a group's openings of those fields are
    found (and checked), openings of other fields are not rebuilt and so not returned."""
    grouped = _group_sample()
    store.put_groups([store.seal_group("req-2.c0", grouped)])
    tins = [o.commitment for o in grouped if o.field == "tin"][:3]
    address = next(o for o in grouped if o.field == "address")
    got = store.get_many([*tins, address.commitment], groups=["req-2.c0"], fields=("tin", "address"))
    assert list(got) == [*tins, address.commitment] and got[address.commitment].value == ADDRESS
    name = next(o for o in grouped if o.field == "name")
    assert store.get_many([name.commitment, *tins], groups=["req-2.c0"], fields=("tin",)) == {
        c: got[c] for c in tins}
    assert store.get_many([name.commitment], groups=["req-2.c0"])[name.commitment].value == NAME


def test_group_rows_hold_nothing_in_clear_and_cannot_be_moved(store: SealedStore, raw: RawDb) -> None:
    """At rest a group is its name, a count and ciphertext; a ciphertext copied to another group's
    row, or altered, is refused on opening (the group's name is sealed inside)."""
    grouped = _group_sample()
    store.put_groups([store.seal_group("req-1.c0", grouped), store.seal_group("req-1.c1", grouped[:2])])
    at_rest = b"".join(bytes(r[0]) for r in raw.query("SELECT ciphertext FROM {g}"))
    for needle in [b"91270", NAME.encode("utf-8"), b"Evergreen", b'"value"', *(o.salt for o in grouped)]:
        assert needle not in at_rest
    (first,) = raw.query("SELECT ciphertext FROM {g} WHERE grp = ?", ("req-1.c0",))[0]
    raw.query("UPDATE {g} SET ciphertext = ? WHERE grp = ?", (bytes(first), "req-1.c1"))
    with pytest.raises(SealedDecryptionError, match="another group's row"):
        store.get_many([grouped[0].commitment], groups=["req-1.c1"])
    altered = bytearray(bytes(first))
    altered[40] ^= 0x01
    raw.query("UPDATE {g} SET ciphertext = ? WHERE grp = ?", (bytes(altered), "req-1.c0"))
    with pytest.raises(SealedDecryptionError, match="altered"):
        store.group_openings(["req-1.c0"])


def test_erase_from_groups_reseals_or_deletes(store: SealedStore, raw: RawDb) -> None:
    """erase(commitments, groups): the named groups lose exactly those openings, sealed again under
    a new nonce; a group left empty is deleted; groups not named are not touched."""
    grouped = _group_sample()
    store.put_groups([store.seal_group("a.c0", grouped), store.seal_group("a.c1", grouped[:2]),
                      store.seal_group("b.c0", grouped[:5])])
    (before,) = raw.query("SELECT ciphertext FROM {g} WHERE grp = ?", ("a.c0",))[0]
    gone = [grouped[0].commitment, grouped[1].commitment, grouped[10].commitment]
    assert store.erase(gone, groups=["a.c0", "a.c1"]) == 3 + 2
    (after,) = raw.query("SELECT ciphertext FROM {g} WHERE grp = ?", ("a.c0",))[0]
    assert bytes(after)[:24] != bytes(before)[:24]  # a new nonce
    assert store.groups_present(["a.c0", "a.c1", "b.c0"]) == {"a.c0", "b.c0"}
    assert set(store.group_openings(["a.c0"])["a.c0"]) == {o.commitment for o in grouped} - set(gone)
    assert len(store.group_openings(["b.c0"])["b.c0"]) == 5  # not named: kept
    assert store.count() == len(grouped) - 3 + 5
