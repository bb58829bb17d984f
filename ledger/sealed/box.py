"""Encryption of one opening at rest: the only place the sealed store's bytes are built.

ciphertext = nonce (24 random bytes) || XSalsa20-Poly1305(sealed key, pad(JCS(opening)))

SecretBox has no associated data, so the binding of a ciphertext to its row is checked
after decryption: the opening must open the row's commitment (``verify_opening``). A
ciphertext moved to another row decrypts but fails that check, and since commitments are
binding no ciphertext can open two commitments.

The plaintext is padded (ISO/IEC 7816-4: 0x80 then zeros) to a multiple of 64 bytes so
ciphertext lengths reveal only a coarse size of the value, not e.g. the length of an address.
"""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Collection, Sequence
from json.encoder import encode_basestring as _encode_string

import nacl.exceptions
import nacl.secret
from nacl.bindings import crypto_secretbox_easy, crypto_secretbox_open_easy

try:  # PyNaCl's own cffi binding of libsodium, which nacl.bindings wraps (see _sealed and _plaintext)
    from nacl._sodium import ffi as _ffi
    from nacl._sodium import lib as _lib
except ImportError:  # pragma: no cover - a PyNaCl without it: the public wrappers below
    _ffi = _lib = None

from ledger.core.b64 import b64decode
from ledger.core.commitments import SALT_SIZE, Opening, OpeningMismatch, check_commitment_hex
from ledger.core.errors import FormatError
from ledger.sealed.errors import SealedDecryptionError

PAD_BLOCK = 64
_OPENING = "opening for commitment"  # how SealedDecryptionError names the row
_GROUP = "openings of group"
_SALT_B64 = 4 * -(-SALT_SIZE // 3)  # base64 characters of a salt
NONCE_SIZE = nacl.secret.SecretBox.NONCE_SIZE
MAC_SIZE = nacl.secret.SecretBox.MACBYTES


def pad(data: bytes, block: int = PAD_BLOCK) -> bytes:
    """``data`` + 0x80 + zeros up to a multiple of ``block`` bytes."""
    padded = data + b"\x80"
    return padded + b"\x00" * (-len(padded) % block)


def unpad(data: bytes) -> bytes:
    """Undo :func:`pad`; ValueError if the padding is malformed."""
    body = data.rstrip(b"\x00")
    if not body.endswith(b"\x80"):
        raise ValueError("malformed padding")
    return body[:-1]


class OpeningBox:
    """Seals and unseals openings under the 32-byte sealed key."""

    def __init__(self, sealed_key: bytes) -> None:
        self._box = nacl.secret.SecretBox(sealed_key)
        self._key = bytes(sealed_key)

    def __repr__(self) -> str:
        return "OpeningBox(<sealed key hidden>)"

    def seal(self, opening: Opening) -> bytes:
        """nonce || ciphertext of the padded canonical opening."""
        return self.seal_each([opening])[0]

    def seal_each(self, openings: Sequence[Opening]) -> list[bytes]:
        """:meth:`seal` of each opening, the random nonces drawn in one call."""
        nonces = os.urandom(NONCE_SIZE * len(openings))
        return [self._sealed(pad(o.to_bytes()), nonces[i:i + NONCE_SIZE])
                for i, o in zip(range(0, len(nonces), NONCE_SIZE), openings, strict=True)]

    def _sealed(self, message: bytes, nonce: bytes) -> bytes:
        """nonce || MAC || ciphertext (what SecretBox.encrypt returns, without its wrapper objects)."""
        if _lib is None:  # pragma: no cover
            return nonce + crypto_secretbox_easy(message, nonce, self._key)
        # libsodium's crypto_secretbox_easy, called as nacl.bindings does but without its checks of
        # lengths fixed here (key 32, nonce 24) and its zeroed buffer: a bulk request seals millions.
        out = _ffi.new("unsigned char[]", len(message) + MAC_SIZE)
        if _lib.crypto_secretbox_easy(out, message, len(message), nonce, self._key) != 0:  # pragma: no cover
            raise nacl.exceptions.CryptoError("Encryption failed")
        return nonce + bytes(_ffi.buffer(out))

    def _plaintext(self, name: str, ciphertext: bytes, what: str) -> bytes:
        """The plaintext of a row's nonce || MAC || ciphertext, or SealedDecryptionError naming the row."""
        data = bytes(ciphertext)
        if len(data) < NONCE_SIZE + MAC_SIZE:
            raise SealedDecryptionError(name, "the ciphertext is shorter than a nonce and a MAC", what)
        nonce, size = data[:NONCE_SIZE], len(data) - NONCE_SIZE
        if _lib is None:  # pragma: no cover
            try:
                return crypto_secretbox_open_easy(data[NONCE_SIZE:], nonce, self._key)
            except nacl.exceptions.CryptoError:
                raise SealedDecryptionError(name, "wrong sealed key, or the ciphertext was altered", what) from None
        out = _ffi.new("unsigned char[]", max(1, size - MAC_SIZE))
        if _lib.crypto_secretbox_open_easy(out, data[NONCE_SIZE:], size, nonce, self._key) != 0:
            raise SealedDecryptionError(name, "wrong sealed key, or the ciphertext was altered", what)
        return bytes(_ffi.buffer(out, size - MAC_SIZE))

    def unseal(self, commitment: str, ciphertext: bytes) -> Opening:
        """Decrypt a row's ciphertext and check that it opens the row's ``commitment``.

        Raises SealedDecryptionError (wrong key, altered bytes) or OpeningMismatch
        (a ciphertext that belongs to another commitment).
        """
        check_commitment_hex(commitment)
        plaintext = self._plaintext(commitment, ciphertext, _OPENING)
        try:
            # Authenticated under our key, so these are the bytes we sealed (canonical by construction):
            # parse them without the canonical round trip; the commitment check below binds the row.
            body = unpad(plaintext)
            opening = _string_opening(body)
            if opening is None:
                opening = Opening.from_json(json.loads(body))
        except (ValueError, FormatError) as e:
            # Authenticated under our key yet malformed: written by a broken or foreign writer.
            raise SealedDecryptionError(commitment, f"decrypted opening is malformed ({type(e).__name__})") from None
        if not hmac.compare_digest(opening.commitment, commitment):
            # (``opening.commitment`` was just computed from the decrypted field, value and salt.)
            raise OpeningMismatch(commitment, opening.commitment, opening.field)
        return opening

    def seal_group(self, group: str, openings: Sequence[Opening]) -> bytes:
        """nonce || ciphertext of the openings of one group (a bulk chunk's) as one padded document,
        ``{"group": G, "openings": [opening, ...]}``: the group's name is inside, so a ciphertext
        moved to another group's row is refused."""
        document = (b'{"group":' + _encode_string(group).encode("utf-8") + b',"openings":['
                    + b",".join(o.to_bytes() for o in openings) + b"]}")
        return self._sealed(pad(document), os.urandom(NONCE_SIZE))

    def unseal_group(self, group: str, ciphertext: bytes, fields: Collection[str] | None = None) -> list[Opening]:
        """The openings of a group's row, each rebuilt (its commitment recomputed from its field,
        value and salt); with ``fields``, only the openings of those fields are rebuilt (recomputing
        a commitment is most of the cost). SealedDecryptionError: wrong key, altered bytes, or
        another group's row."""
        plaintext = self._plaintext(group, ciphertext, _GROUP)
        try:
            document = json.loads(unpad(plaintext))
            if not isinstance(document, dict) or set(document) != {"group", "openings"} \
                    or not isinstance(document["openings"], list):
                raise ValueError("not a group of openings")
            openings = [Opening.from_json(o) for o in document["openings"]
                        if fields is None or (isinstance(o, dict) and o.get("field") in fields)]
        except (ValueError, FormatError) as e:
            raise SealedDecryptionError(group, f"decrypted group is malformed ({type(e).__name__})", _GROUP) from None
        if document["group"] != group:
            raise SealedDecryptionError(group, "the ciphertext belongs to another group's row", _GROUP)
        return openings


def _string_opening(body: bytes) -> Opening | None:
    """The opening in ``{"field":"F","salt":"S","value":"V"}`` (what ``Opening.to_bytes`` writes for
    a string value) when V is plain ASCII without escapes, read by position; None sends the caller
    to the JSON parser. Whatever is read here is checked by its commitment, which it must open."""
    head = b'{"field":"'
    mid = b'","salt":"'
    if not body.startswith(head) or not body.endswith(b'"}') or not body.isascii():
        return None
    end = body.find(mid, len(head))
    if end < 0:
        return None
    salt_end = end + len(mid) + _SALT_B64
    if body[salt_end:salt_end + 11] != b'","value":"':
        return None
    value = body[salt_end + 11:-2]
    if b'"' in value or b"\\" in value:
        return None
    return Opening(body[len(head):end].decode("ascii"), value.decode("ascii"),
                   b64decode(body[end + len(mid):salt_end].decode("ascii"), length=SALT_SIZE))
