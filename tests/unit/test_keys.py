"""ledger.core.keys: C2SP key names, key IDs, verifier-key and signer-key strings, unsafe keys."""

from __future__ import annotations

import hashlib

import nacl.bindings
import nacl.signing
import pytest
from corebuild import key

from ledger.core.b64 import b64encode
from ledger.core.errors import EncodingError, FormatError, KeyFormatError, SignatureError
from ledger.core.keys import (
    SignerKey,
    VerifierKey,
    check_key_name,
    check_public_key,
    key_id,
    parse_signer_key,
    parse_vkey,
)

P = 2**255 - 19
VALID_PUBLIC = bytes(nacl.signing.SigningKey(b"\x07" * 32).verify_key)

# The eight points of small order (identity, order 2, 4 and 8) in their canonical
# encodings, plus the x=0 sign-bit variants.
SMALL_ORDER = {
    "identity 0100..00": "01" + "00" * 31,
    "order 2 (y=-1)": "ec" + "ff" * 30 + "7f",
    "order 4 (y=0)": "00" * 32,
    "order 4 (y=0, sign)": "00" * 31 + "80",
    "order 8 a": "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "order 8 b": "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "order 8 c": "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "order 8 d": "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "identity with x sign bit": "01" + "00" * 30 + "80",
}

# y >= p: the encodings of y = p + k for small k (k=1 is the identity, non-canonically).
NON_CANONICAL = {f"y = p + {k}": (P + k).to_bytes(32, "little").hex() for k in (0, 1, 2, 18)} | {
    "all ones": "ff" * 32,
}


def vkey_string(name: str, public: bytes, alg: int = 1) -> str:
    """A verifier-key string with the correct key hash, built independently of ledger.core.keys."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public).digest()
    return f"{name}+{digest[:4].hex()}+{b64encode(bytes([alg]) + public)}"


@pytest.mark.parametrize(
    "name", ["ice.dhs.gov/director", "irs.gov/disclosure/officer-0042", "a", "x~!*,-"]
)
def test_valid_key_names(name: str) -> None:
    """Printable ASCII names without space or '+' are accepted unchanged."""
    assert check_key_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "a b", "a+b", "+", " lead", "tab\tname", "new\nline", "é.gov", "a\x7f", "\u2014"]
)
def test_bad_key_names_are_refused(name: str) -> None:
    """Empty names, spaces, '+', controls and non-ASCII are refused."""
    with pytest.raises(KeyFormatError):
        check_key_name(name)


def test_key_id_formula() -> None:
    """The key ID is the big-endian first 4 bytes of SHA-256(name || 0x0A || 0x01 || pubkey)."""
    digest = hashlib.sha256(b"example.com/foo\n\x01" + VALID_PUBLIC).digest()
    assert key_id("example.com/foo", VALID_PUBLIC) == int.from_bytes(digest[:4], "big")
    assert VerifierKey("example.com/foo", VALID_PUBLIC).key_hash == digest[:4]


def test_vkey_string_round_trip() -> None:
    """str(VerifierKey) is name+hex8+base64(0x01||pubkey) and parses back to an equal key."""
    vk = VerifierKey("irs.gov/a", VALID_PUBLIC)
    text = str(vk)
    assert text == vkey_string("irs.gov/a", VALID_PUBLIC)
    assert parse_vkey(text) == vk
    with pytest.raises(FormatError):
        parse_vkey(text + "\n")  # strict: callers reading a file strip it themselves


def test_signer_key_string_round_trip() -> None:
    """A signer key's PRIVATE+KEY string parses back to the same key and verifier."""
    sk = key("irs.gov/disclosure/officer-0042")
    text = sk.to_string()
    assert text.startswith("PRIVATE+KEY+irs.gov/disclosure/officer-0042+")
    assert text.split("+")[3] == f"{sk.verifier.key_id:08x}"
    again = parse_signer_key(text)
    assert again == sk
    assert again.verifier == sk.verifier


def test_key_strings_whose_base64_holds_a_plus_round_trip() -> None:
    """Base64 may contain '+', the separator: such verifier and signer keys still parse."""
    signer = next(
        k for k in (key("irs.gov/a", n) for n in range(200))
        if "+" in str(k.verifier).split("+", 2)[2] and "+" in k.to_string().split("+", 4)[4]
    )
    assert parse_vkey(str(signer.verifier)) == signer.verifier
    assert parse_signer_key(signer.to_string()) == signer


def test_signer_key_repr_hides_the_seed() -> None:
    """The seed never appears in repr (so it cannot leak into logs)."""
    sk = key("irs.gov/a")
    assert sk.seed.hex() not in repr(sk)
    assert repr(sk.seed) not in repr(sk)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t.replace("PRIVATE+KEY", "PUBLIC+KEY"),
        lambda t: t.rsplit("+", 2)[0] + "+00000000+" + t.rsplit("+", 1)[1],
        lambda t: t.rsplit("+", 1)[0] + "+" + b64encode(b"\x02" + b"\x00" * 32),
        lambda t: t.rsplit("+", 1)[0] + "+" + b64encode(b"\x01" + b"\x00" * 31),
        lambda t: t + "+extra",
    ],
    ids=["not-private", "wrong-key-hash", "wrong-algorithm", "short-seed", "extra-part"],
)
def test_bad_signer_key_strings_are_refused(mutate: object) -> None:
    """Malformed signer-key strings are refused with a format error."""
    text = mutate(key("irs.gov/a").to_string())  # type: ignore[operator]
    with pytest.raises((KeyFormatError, EncodingError)):
        parse_signer_key(text)


def test_signer_key_needs_32_byte_seed() -> None:
    """A SignerKey is built with exactly 32 bytes of seed."""
    with pytest.raises(KeyFormatError):
        SignerKey("irs.gov/a", b"\x00" * 31)


def test_generate_gives_distinct_usable_keys() -> None:
    """Generated keys differ and sign verifiably."""
    a, b = SignerKey.generate("irs.gov/a"), SignerKey.generate("irs.gov/a")
    assert a.seed != b.seed
    a.verifier.verify(b"msg", a.sign(b"msg"))


@pytest.mark.parametrize("encoding", SMALL_ORDER.values(), ids=SMALL_ORDER.keys())
def test_small_order_points_are_refused(encoding: str) -> None:
    """Small-order public keys (the identity 0100..00 among them) are refused everywhere."""
    public = bytes.fromhex(encoding)
    with pytest.raises(KeyFormatError):
        check_public_key(public)
    with pytest.raises(KeyFormatError):
        VerifierKey("irs.gov/a", public)
    with pytest.raises(KeyFormatError):
        parse_vkey(vkey_string("irs.gov/a", public))


@pytest.mark.parametrize("encoding", NON_CANONICAL.values(), ids=NON_CANONICAL.keys())
def test_non_canonical_encodings_are_refused(encoding: str) -> None:
    """Public keys encoding y >= p are refused."""
    with pytest.raises(KeyFormatError):
        parse_vkey(vkey_string("irs.gov/a", bytes.fromhex(encoding)))


def test_mixed_order_point_is_refused() -> None:
    """A valid key plus a small-order component (off the prime-order subgroup) is refused."""
    mixed = nacl.bindings.crypto_core_ed25519_add(VALID_PUBLIC, bytes.fromhex(SMALL_ORDER["order 8 a"]))
    with pytest.raises(KeyFormatError):
        parse_vkey(vkey_string("irs.gov/a", mixed))


@pytest.mark.parametrize("length", [0, 31, 33])
def test_wrong_length_public_keys_are_refused(length: int) -> None:
    """Public keys must be 32 bytes."""
    with pytest.raises(KeyFormatError):
        check_public_key(b"\x01" * length)


def test_wrong_key_hash_in_vkey_is_refused() -> None:
    """A verifier-key string whose key hash does not match its name and key is refused."""
    good = vkey_string("irs.gov/a", VALID_PUBLIC)
    name, hex8, blob = good.split("+")
    wrong = f"{(int(hex8, 16) ^ 1):08x}"
    with pytest.raises(KeyFormatError, match="key hash mismatch"):
        parse_vkey(f"{name}+{wrong}+{blob}")


def test_key_hash_binds_the_name() -> None:
    """Renaming a verifier key without recomputing its hash is refused."""
    _, hex8, blob = vkey_string("irs.gov/a", VALID_PUBLIC).split("+")
    with pytest.raises(KeyFormatError, match="key hash mismatch"):
        parse_vkey(f"irs.gov/b+{hex8}+{blob}")


@pytest.mark.parametrize(
    "text",
    [
        "irs.gov/a+ABCDEF12+" + b64encode(b"\x01" + VALID_PUBLIC),  # uppercase hex
        "irs.gov/a+abc+" + b64encode(b"\x01" + VALID_PUBLIC),  # short hex
        "irs.gov/a+" + b64encode(b"\x01" + VALID_PUBLIC),  # two parts
        "irs.gov/a+00000000+" + b64encode(VALID_PUBLIC),  # no algorithm byte
    ],
    ids=["uppercase-hex", "short-hex", "two-parts", "no-alg-byte"],
)
def test_malformed_vkeys_are_refused(text: str) -> None:
    """Malformed verifier-key strings are refused with KeyFormatError."""
    with pytest.raises(KeyFormatError):
        parse_vkey(text)


def test_vkey_with_wrong_algorithm_is_refused() -> None:
    """Only algorithm 0x01 (Ed25519) is accepted."""
    with pytest.raises(KeyFormatError):
        parse_vkey(vkey_string("irs.gov/a", VALID_PUBLIC, alg=2))


@pytest.mark.parametrize("name", ["irs gov/a", "irs.gov/a+b"])
def test_vkey_with_bad_name_is_refused(name: str) -> None:
    """A verifier key whose name has a space or '+' is refused."""
    with pytest.raises(KeyFormatError):
        parse_vkey(vkey_string(name, VALID_PUBLIC))


def test_vkey_with_bad_base64_is_refused() -> None:
    """The key blob must be strict base64."""
    name, hex8, blob = vkey_string("irs.gov/a", VALID_PUBLIC).split("+")
    with pytest.raises(EncodingError):
        parse_vkey(f"{name}+{hex8}+{blob[:-1]}")
    with pytest.raises(EncodingError):
        parse_vkey(f"{name}+{hex8}+{blob} ")


def test_verify_accepts_own_signature_and_refuses_others() -> None:
    """A verifier key verifies its signer's signature and refuses a changed message or key."""
    sk, other = key("irs.gov/a"), key("irs.gov/a", 1)
    signature = sk.sign(b"message")
    sk.verifier.verify(b"message", signature)
    with pytest.raises(SignatureError):
        sk.verifier.verify(b"messagf", signature)
    with pytest.raises(SignatureError):
        other.verifier.verify(b"message", signature)
    with pytest.raises(SignatureError, match="64-byte"):
        sk.verifier.verify(b"message", signature[:63])


def test_keys_are_immutable() -> None:
    """VerifierKey is frozen: its key ID cannot drift from its key."""
    vk = VerifierKey("irs.gov/a", VALID_PUBLIC)
    with pytest.raises(AttributeError):
        vk.name = "irs.gov/b"  # type: ignore[misc]
