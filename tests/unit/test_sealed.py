"""ledger.core.commitments and ledger.sealed without a database: commitments, openings,
pseudonyms, keys, escrow and the at-rest box."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import nacl.pwhash.argon2id as argon2id
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.core.b64 import b64decode, b64encode
from ledger.core.canonical import parse_canonical
from ledger.core.commitments import (
    COMMIT_TAG,
    CommitmentFormatError,
    Opening,
    OpeningMismatch,
    commit,
    verify_opening,
)
from ledger.sealed import (
    EscrowError,
    SealedDecryptionError,
    SealedError,
    SealedKeyError,
    SealedKeys,
    SealedStoreError,
    TinFormatError,
    escrow_bundle,
    normalise_tin,
    pseudonym,
    restore_escrow,
    sealed_database,
)
from ledger.sealed.box import OpeningBox, pad, unpad

SALT = bytes(range(16))
TIN = "912-70-1234"
PASSPHRASE = "correct horse battery staple"
# Cheapest limits a bundle may use, so the escrow tests stay fast.
FAST = {"opslimit": argon2id.OPSLIMIT_INTERACTIVE, "memlimit": argon2id.MEMLIMIT_INTERACTIVE}


# --- commitments -----------------------------------------------------------------


def test_commitment_byte_layout_by_hand() -> None:
    """The commitment is SHA-256 of the tag, the 16 raw salt bytes and JCS of {field, value}."""
    by_hand = hashlib.sha256(
        b"dl/commit/v1\n" + SALT + b'{"field":"tin","value":"912701234"}'
    ).hexdigest()
    assert COMMIT_TAG == b"dl/commit/v1\n"
    assert commit("tin", "912701234", SALT).commitment == by_hand
    assert by_hand == "4e5c5264db2817bbc438762cab2efda6fe26898c1b6ae1c80992287225310025"


def test_commitment_known_answer_for_a_nested_non_ascii_value() -> None:
    """Object values are committed with sorted keys and raw UTF-8, exactly as RFC 8785 writes them."""
    value = {"zip": "00926", "line1": "URB Las Gladiolas, Calle Ñ 12", "city": "San Juan"}
    document = '{"field":"address","value":{"city":"San Juan","line1":"URB Las Gladiolas, Calle Ñ 12","zip":"00926"}}'
    salt = bytes(range(16, 32))
    by_hand = hashlib.sha256(COMMIT_TAG + salt + document.encode("utf-8")).hexdigest()
    assert commit("address", value, salt).commitment == by_hand
    assert by_hand == "ef110a65e1b1ce66d8c75dbe0ae7637b2f9583ffa3462d5ddf8d1d7b94dac767"


def test_commit_draws_a_fresh_salt_each_time() -> None:
    """Without a salt, two commitments to the same value differ (the commitment hides the value)."""
    a, b = commit("tin", "912701234"), commit("tin", "912701234")
    assert len(a.salt) == 16
    assert a.salt != b.salt
    assert a.commitment != b.commitment


def test_opening_verifies_against_its_commitment() -> None:
    """An opening opens its own commitment: verify_opening returns None."""
    opening = commit("reason", "criminal investigation 2025-0042", SALT)
    assert verify_opening(opening.commitment, opening) is None


@pytest.mark.parametrize(
    ("name", "changed"),
    [
        ("other-field", Opening("address", "912701234", SALT)),
        ("other-value", Opening("tin", "912701235", SALT)),
        ("value-type-int", Opening("tin", 912701234, SALT)),
        ("salt-bit-0", Opening("tin", "912701234", bytes([SALT[0] ^ 1]) + SALT[1:])),
        ("salt-last-byte", Opening("tin", "912701234", SALT[:-1] + b"\xff")),
    ],
)
def test_any_change_to_an_opening_fails(name: str, changed: Opening) -> None:
    """Changing the field, the value (even only its JSON type) or one salt bit fails verification."""
    original = commit("tin", "912701234", SALT)
    with pytest.raises(OpeningMismatch) as info:
        verify_opening(original.commitment, changed)
    assert info.value.expected == original.commitment
    assert info.value.found == changed.commitment
    assert original.commitment in str(info.value) and changed.commitment in str(info.value)


def test_mismatch_message_never_repeats_the_value() -> None:
    """OpeningMismatch names the field and both commitments, not the committed value."""
    wrong = Opening("tin", "912701235", SALT)
    with pytest.raises(OpeningMismatch) as info:
        verify_opening(commit("tin", "912701234", SALT).commitment, wrong)
    assert "91270123" not in str(info.value)
    assert isinstance(info.value, SealedError)


@given(st.binary(min_size=16, max_size=16), st.integers(0, 127))
def test_flipping_any_salt_bit_fails(salt: bytes, bit: int) -> None:
    """Every single-bit change of the salt changes the commitment."""
    opening = commit("tin", "912701234", salt)
    flipped = bytearray(salt)
    flipped[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(OpeningMismatch):
        verify_opening(opening.commitment, Opening("tin", "912701234", bytes(flipped)))


def test_verify_refuses_a_malformed_commitment() -> None:
    """Commitments are exactly 64 lowercase hex digits; uppercase or short ones are refused."""
    opening = commit("tin", "912701234", SALT)
    for bad in (opening.commitment.upper(), opening.commitment[:-1], "", "g" * 64):
        with pytest.raises(CommitmentFormatError):
            verify_opening(bad, opening)


@pytest.mark.parametrize("salt", [b"", bytes(15), bytes(17), bytes(32)])
def test_salt_must_be_16_bytes(salt: bytes) -> None:
    """A salt of any length but 16 bytes is refused."""
    with pytest.raises(CommitmentFormatError, match="16 bytes"):
        commit("tin", "912701234", salt)


@pytest.mark.parametrize("field", ["", "TIN", "tin number", "tin.", ".tin", "tin/1", "é", "a" * 129])
def test_field_names_are_restricted(field: str) -> None:
    """Fields are dotted lowercase ASCII words of at most 128 characters."""
    with pytest.raises(CommitmentFormatError):
        commit(field, "x", SALT)


@pytest.mark.parametrize("value", [1.5, 2**53, {"Key": 1}, "e\u0301", float("nan")])
def test_non_canonical_values_are_refused_without_echoing_them(value: Any) -> None:
    """Floats, huge integers, bad keys and non-NFC strings are refused; the message hides the value."""
    with pytest.raises(CommitmentFormatError) as info:
        commit("amount", value, SALT)
    assert str(2**53) not in str(info.value)


def test_opening_repr_hides_value_and_salt() -> None:
    """repr of an opening shows the field and the commitment, never the value or the salt."""
    opening = commit("tin", "912701234", SALT)
    text = repr(opening) + str(opening)
    assert "912701234" not in text
    assert SALT.hex() not in text and b64encode(SALT) not in text and repr(SALT) not in text
    assert opening.commitment in text


def test_opening_json_round_trip() -> None:
    """to_json writes the salt as standard base64; from_json and from_bytes read back an equal opening."""
    opening = commit("address", {"line1": "PSC 1234 Box 5678", "city": "APO", "state": "AE"}, SALT)
    obj = opening.to_json()
    assert obj == {"field": "address", "salt": "AAECAwQFBgcICQoLDA0ODw==", "value": opening.value}
    assert Opening.from_json(obj) == opening
    assert Opening.from_bytes(opening.to_bytes()) == opening
    assert parse_canonical(opening.to_bytes()) == obj


@given(
    st.from_regex(r"[a-z0-9_]{1,20}", fullmatch=True),
    st.recursive(
        st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=20).filter(str.isascii),
        lambda inner: st.lists(inner, max_size=3)
        | st.dictionaries(st.from_regex(r"[a-z_]{1,5}", fullmatch=True), inner, max_size=3),
        max_leaves=10,
    ),
    st.binary(min_size=16, max_size=16),
)
def test_opening_bytes_round_trip_property(field: str, value: Any, salt: bytes) -> None:
    """Any canonical value survives to_bytes/from_bytes with the same commitment."""
    opening = Opening(field, value, salt)
    again = Opening.from_bytes(opening.to_bytes())
    assert again.commitment == opening.commitment
    verify_opening(opening.commitment, again)


@pytest.mark.parametrize(
    "obj",
    [
        [],
        {"field": "tin", "value": "1"},
        {"field": "tin", "value": "1", "salt": "AAECAwQFBgcICQoLDA0ODw==", "commitment": "00"},
        {"field": "tin", "value": "1", "salt": "AAECAwQFBgcICQoLDA0O"},
        {"field": "tin", "value": "1", "salt": "AAECAwQFBgcICQoLDA0ODw"},
        {"field": "tin", "value": "1", "salt": 5},
    ],
)
def test_from_json_refuses_malformed_openings(obj: Any) -> None:
    """Missing or extra members, short or unpadded salts are refused."""
    with pytest.raises(CommitmentFormatError):
        Opening.from_json(obj)


def test_from_bytes_refuses_non_canonical_bytes() -> None:
    """A serialised opening must be the exact canonical encoding."""
    data = commit("tin", "912701234", SALT).to_bytes()
    with pytest.raises(CommitmentFormatError):
        Opening.from_bytes(data.replace(b",", b", ", 1))


def test_openings_compare_by_commitment() -> None:
    """Openings are equal and hash alike exactly when their commitments are equal (1 is not True)."""
    assert commit("n", 1, SALT) != commit("n", True, SALT)
    assert {commit("n", [1], SALT), commit("n", [1], SALT)} == {commit("n", [1], SALT)}


def test_commitments_module_loads_without_sqlalchemy_or_nacl() -> None:
    """The pure commitment module imports neither SQLAlchemy nor pynacl (the court's verifier may use it)."""
    code = "import sys, ledger.core.commitments; print(sorted(m for m in ('sqlalchemy', 'nacl') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- TINs and pseudonyms -----------------------------------------------------------


@pytest.mark.parametrize("text", ["912-70-1234", "912 70 1234", "912701234", " 912701234 ", "91-2701234"])
def test_normalise_tin_accepts_usual_layouts(text: str) -> None:
    """SSN/ITIN and EIN layouts with spaces or hyphens reduce to the 9 digits."""
    assert normalise_tin(text) == "912701234"


@pytest.mark.parametrize(
    "text",
    ["", "91270123", "9127012345", "912-70-123X", "912.70.1234", "912_70_1234", "٩١٢٧٠١٢٣٤", "912701234\x00"],
)
def test_normalise_tin_refuses_anything_else(text: str) -> None:
    """Wrong digit counts, letters, other separators and non-ASCII digits are refused."""
    with pytest.raises(TinFormatError) as info:
        normalise_tin(text)
    assert "9127012" not in str(info.value)


def test_normalise_tin_refuses_non_strings() -> None:
    """An integer TIN is refused (leading zeros would be lost)."""
    with pytest.raises(TinFormatError):
        normalise_tin(912701234)  # type: ignore[arg-type]


def test_pseudonym_known_answer() -> None:
    """The pseudonym is lowercase hex HMAC-SHA-256(key, 9 ASCII digits), no prefix."""
    key = bytes(range(32))
    expected = hmac.new(key, b"912701234", hashlib.sha256).hexdigest()
    assert pseudonym(TIN, key) == expected
    assert expected == "555c6d9507e9275b83b8572bb58faf5da9b79661793446edfed9477975be61e4"


def test_pseudonym_is_stable_across_layouts_and_keyed() -> None:
    """The same TIN in any layout gives the same pseudonym; another key gives another one."""
    key, other = os.urandom(32), os.urandom(32)
    assert pseudonym("912-70-1234", key) == pseudonym("912 70 1234", key) == pseudonym("912701234", key)
    assert pseudonym(TIN, key) != pseudonym(TIN, other)
    assert pseudonym(TIN, key) != pseudonym("912-70-1235", key)
    assert pseudonym(TIN, key) != hashlib.sha256(b"912701234").hexdigest()


@pytest.mark.parametrize("size", [0, 16, 31])
def test_pseudonym_refuses_short_keys(size: int) -> None:
    """A pseudonym key shorter than 32 bytes is refused."""
    with pytest.raises(SealedKeyError, match="at least 32 bytes"):
        pseudonym(TIN, bytes(size))


# --- keys ---------------------------------------------------------------------------


def _secret_forms(key: bytes) -> list[str]:
    return [key.hex(), b64encode(key), repr(key)[2:-1]]


def test_sealed_keys_never_show_the_keys() -> None:
    """repr and str show key ids only; no hex, base64 or bytes form of either key."""
    keys = SealedKeys.random()
    text = repr(keys) + str(keys) + f"{keys}" + repr([keys])
    for key in (keys.sealed_key, keys.pseudonym_key):
        for form in _secret_forms(key):
            assert form not in text
    assert keys.sealed_key_id in text and keys.pseudonym_key_id in text


def test_opening_box_repr_hides_the_key() -> None:
    """The at-rest box does not print its key either."""
    key = os.urandom(32)
    assert all(form not in repr(OpeningBox(key)) for form in _secret_forms(key))


@given(st.one_of(st.text(max_size=40), st.integers(-(2**53) + 1, 2**53 - 1), st.none(),
                 st.lists(st.text(max_size=5), max_size=3)), st.binary(min_size=16, max_size=16))
def test_sealed_openings_round_trip_property(value: Any, salt: bytes) -> None:
    """seal_each and unseal give back field, value and salt exactly (plain ASCII strings take the
    positional reader, anything else the JSON one); each nonce differs."""
    try:
        opening = Opening("name", value, salt)
    except CommitmentFormatError:
        return  # not a canonical value (a lone surrogate, say): never sealed
    box = OpeningBox(os.urandom(32))
    sealed = box.seal_each([opening, opening])
    assert sealed[0][:24] != sealed[1][:24]
    back = box.unseal(opening.commitment, sealed[0])
    assert (back.field, back.value, back.salt) == ("name", value, salt)


def _sealed_text(box: OpeningBox, text: bytes) -> bytes:
    nonce = os.urandom(24)
    return box._sealed(pad(text), nonce)  # what a broken writer holding the key could store


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (b'{"field":"T!N","salt":"AAAAAAAAAAAAAAAAAAAAAA==","value":"123456789"}', SealedDecryptionError),
        (b'{"field":"tin","salt":"AAAAAAAAAAAAAAAAAAAA","value":"123456789"}', SealedDecryptionError),
        (b'{"field":"tin","salt":"AAAAAAAAAAAAAAAAAAAAAA==","value":"12345678"}', OpeningMismatch),
        (b'{"field":"tin","salt":"AAAAAAAAAAAAAAAAAAAAAA==","value":"12345\\"6789"}', OpeningMismatch),
        (b'{"field":"tin","salt":"AAAAAAAAAAAAAAAAAAAAAA==","value":123456789}', OpeningMismatch),
        (b'not json', SealedDecryptionError),
    ],
)
def test_a_malformed_or_foreign_plaintext_is_refused(text: bytes, error: type[Exception]) -> None:
    """Authenticated bytes are still read with care: a bad field, a short salt, bad JSON are
    malformed; a well-formed opening of another value does not open the row's commitment."""
    box = OpeningBox(os.urandom(32))
    row = Opening("tin", "123456789", bytes(16)).commitment
    with pytest.raises(error):
        box.unseal(row, _sealed_text(box, text))
    assert box.unseal(row, _sealed_text(box, Opening("tin", "123456789", bytes(16)).to_bytes())).value == "123456789"


@pytest.mark.parametrize(
    ("sealed", "pseudo", "match"),
    [
        (bytes(16), b"p" * 32, "exactly 32"),
        (b"s" * 33, b"p" * 32, "exactly 32"),
        (b"s" * 32, b"p" * 31, "at least 32"),
        (b"k" * 32, b"k" * 32, "different"),
    ],
    ids=["sealed-16", "sealed-33", "pseudonym-31", "same-key"],
)
def test_sealed_keys_refuse_bad_lengths_and_reuse(sealed: bytes, pseudo: bytes, match: str) -> None:
    """The sealed key is exactly 32 bytes, the pseudonym key at least 32, and they differ."""
    with pytest.raises(SealedKeyError, match=match):
        SealedKeys(sealed, pseudo)


def test_generate_writes_base64_keys_with_mode_0600(tmp_path: Path) -> None:
    """generate writes two 32-byte random base64 keys, mode 0600, that load back equal."""
    keys = SealedKeys.generate(tmp_path / "sealed-keys")
    for name in ("sealed.key", "pseudonym.key"):
        path = tmp_path / "sealed-keys" / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert len(b64decode(path.read_text().strip())) == 32
    assert SealedKeys.from_dir(tmp_path / "sealed-keys") == keys


def test_generate_refuses_to_overwrite(tmp_path: Path) -> None:
    """generate never replaces existing key files (that would lose every lookup)."""
    keys = SealedKeys.generate(tmp_path)
    with pytest.raises(SealedKeyError, match="overwrite"):
        SealedKeys.generate(tmp_path)
    assert SealedKeys.from_dir(tmp_path) == keys


def test_from_env_reads_files_or_a_directory(tmp_path: Path) -> None:
    """The two file variables, or the directory variable, locate the keys."""
    keys = SealedKeys.generate(tmp_path)
    by_files = {
        "LEDGER_SEALED_KEY_FILE": str(tmp_path / "sealed.key"),
        "LEDGER_PSEUDONYM_KEY_FILE": str(tmp_path / "pseudonym.key"),
    }
    assert SealedKeys.from_env(by_files) == keys
    assert SealedKeys.from_env({"LEDGER_SEALED_KEY_DIR": str(tmp_path)}) == keys


def test_from_env_has_no_default() -> None:
    """With nothing configured, loading fails with a typed error naming the variables."""
    with pytest.raises(SealedKeyError, match="LEDGER_SEALED_KEY_FILE"):
        SealedKeys.from_env({})


def test_from_env_refuses_half_a_configuration(tmp_path: Path) -> None:
    """Setting only one of the two file variables is refused."""
    SealedKeys.generate(tmp_path)
    with pytest.raises(SealedKeyError, match="LEDGER_PSEUDONYM_KEY_FILE"):
        SealedKeys.from_env({"LEDGER_SEALED_KEY_FILE": str(tmp_path / "sealed.key")})


def test_missing_key_file_is_a_typed_error(tmp_path: Path) -> None:
    """A missing key file raises SealedKeyError naming the file."""
    with pytest.raises(SealedKeyError, match="does not exist"):
        SealedKeys.from_dir(tmp_path)


def test_short_key_file_is_refused(tmp_path: Path) -> None:
    """A key file holding fewer than 32 bytes is refused."""
    (tmp_path / "sealed.key").write_text(b64encode(os.urandom(16)) + "\n")
    (tmp_path / "pseudonym.key").write_text(b64encode(os.urandom(32)) + "\n")
    with pytest.raises(SealedKeyError, match="exactly 32"):
        SealedKeys.from_dir(tmp_path)


def test_garbage_key_file_is_refused_without_quoting_it(tmp_path: Path) -> None:
    """A key file that is not base64 is refused; the message does not repeat its content."""
    (tmp_path / "sealed.key").write_text("not-base64-secret-material!")
    (tmp_path / "pseudonym.key").write_text(b64encode(os.urandom(32)))
    with pytest.raises(SealedKeyError) as info:
        SealedKeys.from_dir(tmp_path)
    assert "secret-material" not in str(info.value)


# --- escrow -------------------------------------------------------------------------


def test_escrow_round_trip() -> None:
    """restore_escrow with the right passphrase returns the very keys that were escrowed."""
    keys = SealedKeys.random()
    bundle = escrow_bundle(keys, PASSPHRASE, **FAST)
    assert restore_escrow(bundle, PASSPHRASE) == keys


def test_escrow_bundle_holds_no_key_in_clear() -> None:
    """The bundle shows key ids and KDF parameters, never a key in any encoding."""
    keys = SealedKeys.random()
    bundle = escrow_bundle(keys, PASSPHRASE, **FAST)
    header = parse_canonical(bundle)
    assert header["format"] == "dl/sealed-escrow/v1"
    assert header["key_ids"] == {"pseudonym": keys.pseudonym_key_id, "sealed": keys.sealed_key_id}
    for key in (keys.sealed_key, keys.pseudonym_key):
        assert key not in bundle
        assert all(form.encode() not in bundle for form in _secret_forms(key))


def test_escrow_refuses_a_wrong_passphrase() -> None:
    """A wrong passphrase raises EscrowError, not garbage keys."""
    bundle = escrow_bundle(SealedKeys.random(), PASSPHRASE, **FAST)
    with pytest.raises(EscrowError, match="passphrase"):
        restore_escrow(bundle, PASSPHRASE + "!")


def test_escrow_refuses_a_short_passphrase() -> None:
    """Escrow passphrases have at least 16 characters."""
    with pytest.raises(EscrowError, match="16 characters"):
        escrow_bundle(SealedKeys.random(), "hunter2", **FAST)


def test_escrow_detects_altered_key_ids() -> None:
    """Key ids altered in the clear header no longer match the decrypted keys."""
    keys = SealedKeys.random()
    header = parse_canonical(escrow_bundle(keys, PASSPHRASE, **FAST))
    header["key_ids"]["sealed"] = "0" * 16
    from ledger.core.canonical import canonical_bytes

    with pytest.raises(EscrowError, match="key ids"):
        restore_escrow(canonical_bytes(header), PASSPHRASE)


def test_escrow_refuses_weakened_or_absurd_kdf_limits() -> None:
    """A bundle asking for less than interactive limits, or for more than 4 GiB, is refused."""
    from ledger.core.canonical import canonical_bytes

    header = parse_canonical(escrow_bundle(SealedKeys.random(), PASSPHRASE, **FAST))
    for memlimit in (8192, 2**40):
        header["kdf"]["memlimit"] = memlimit
        with pytest.raises(EscrowError, match="out of range"):
            restore_escrow(canonical_bytes(header), PASSPHRASE)


@pytest.mark.parametrize("bundle", [b"", b"{}", b"not json", b'{"format":"other"}'])
def test_escrow_refuses_malformed_bundles(bundle: bytes) -> None:
    """Anything that is not an escrow bundle raises EscrowError."""
    with pytest.raises(EscrowError):
        restore_escrow(bundle, PASSPHRASE)


# --- encryption at rest ---------------------------------------------------------------


def test_box_round_trip_and_no_plaintext() -> None:
    """A sealed opening unseals to itself; its bytes contain neither the value nor the salt."""
    box = OpeningBox(os.urandom(32))
    opening = commit("address", "1600 Pennsylvania Avenue NW", SALT)
    sealed = box.seal(opening)
    assert b"Pennsylvania" not in sealed and SALT not in sealed
    assert box.unseal(opening.commitment, sealed) == opening


def test_box_refuses_a_ciphertext_under_another_commitment() -> None:
    """A ciphertext presented for another commitment decrypts but fails the opening check."""
    box = OpeningBox(os.urandom(32))
    a, b = commit("tin", "912701234"), commit("tin", "912701235")
    with pytest.raises(OpeningMismatch) as info:
        box.unseal(a.commitment, box.seal(b))
    assert info.value.expected == a.commitment and info.value.found == b.commitment


def test_box_refuses_wrong_key_and_altered_bytes() -> None:
    """A wrong key or one flipped ciphertext bit raises SealedDecryptionError."""
    key = os.urandom(32)
    opening = commit("tin", "912701234")
    sealed = OpeningBox(key).seal(opening)
    with pytest.raises(SealedDecryptionError):
        OpeningBox(os.urandom(32)).unseal(opening.commitment, sealed)
    altered = bytearray(sealed)
    altered[-1] ^= 1
    with pytest.raises(SealedDecryptionError):
        OpeningBox(key).unseal(opening.commitment, bytes(altered))
    for cut in (0, 10, 24, 39, 40):  # shorter than nonce + MAC, or just a nonce and a MAC
        with pytest.raises(SealedDecryptionError):
            OpeningBox(key).unseal(opening.commitment, sealed[:cut])


def test_padding_hides_exact_lengths() -> None:
    """Plaintexts are padded to 64-byte blocks, so values of similar length seal to equal sizes."""
    box = OpeningBox(os.urandom(32))
    short = box.seal(commit("address", "1 Main St", SALT))
    longer = box.seal(commit("address", "1 Main Street Apt 2", SALT))
    assert len(short) == len(longer)
    for n in range(0, 200):
        data = b"x" * n
        assert len(pad(data)) % 64 == 0
        assert unpad(pad(data)) == data


# --- database URLs -------------------------------------------------------------------


def test_sqlite_url_is_the_ledgers_file() -> None:
    """sqlite:///relative and sqlite:////absolute name the same file the ledger's Settings use."""
    assert sealed_database("sqlite:///var/ledger.sqlite3").url.database == "var/ledger.sqlite3"
    absolute = sealed_database("sqlite:////tmp/x/ledger.sqlite3")
    assert absolute.url.database == "/tmp/x/ledger.sqlite3" and absolute.schema is None


def test_postgres_url_uses_psycopg_and_the_schema() -> None:
    """postgresql://…?schema=S becomes postgresql+psycopg://… with the tables in schema S."""
    db = sealed_database("postgresql://alice:s3cret@db.example:6543/ledger?schema=tenant_1")
    assert db.url.drivername == "postgresql+psycopg"
    assert (db.url.username, db.url.password, db.url.host, db.url.port, db.url.database) == (
        "alice", "s3cret", "db.example", 6543, "ledger"
    )
    assert db.schema == "tenant_1"
    assert "s3cret" not in repr(db.url)
    assert sealed_database("postgres://postgres@127.0.0.1/test").schema == "public"


@pytest.mark.parametrize(
    "url", ["mysql://x/y", "sqlite://", "postgresql://u@h/db?schema=a;drop", 'postgresql://u@h/db?schema=a"b']
)
def test_bad_database_urls_are_refused(url: str) -> None:
    """Unknown schemes, SQLite without a path and unsafe schema names are refused."""
    with pytest.raises(SealedStoreError):
        sealed_database(url)
