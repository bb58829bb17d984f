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

import nacl.exceptions
import nacl.secret
from nacl.bindings import crypto_secretbox_easy, crypto_secretbox_open_easy

from ledger.commitments import CommitmentFormatError, Opening, OpeningMismatch, check_commitment_hex
from ledger.sealed.errors import SealedDecryptionError

PAD_BLOCK = 64
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
        # What SecretBox.encrypt returns (random nonce || MAC || ciphertext), without its wrapper objects.
        nonce = os.urandom(NONCE_SIZE)
        return nonce + crypto_secretbox_easy(pad(opening.to_bytes()), nonce, self._key)

    def unseal(self, commitment: str, ciphertext: bytes) -> Opening:
        """Decrypt a row's ciphertext and check that it opens the row's ``commitment``.

        Raises SealedDecryptionError (wrong key, altered bytes) or OpeningMismatch
        (a ciphertext that belongs to another commitment).
        """
        check_commitment_hex(commitment)
        data = bytes(ciphertext)
        if len(data) < NONCE_SIZE + MAC_SIZE:
            raise SealedDecryptionError(commitment, "the ciphertext is shorter than a nonce and a MAC")
        try:
            # What SecretBox.decrypt does (nonce || MAC || ciphertext), without its wrapper objects.
            plaintext = crypto_secretbox_open_easy(data[NONCE_SIZE:], data[:NONCE_SIZE], self._key)
        except nacl.exceptions.CryptoError:
            raise SealedDecryptionError(commitment, "wrong sealed key, or the ciphertext was altered") from None
        try:
            # Authenticated under our key, so these are the bytes we sealed (canonical by construction):
            # parse them without the canonical round trip; the commitment check below binds the row.
            opening = Opening.from_json(json.loads(unpad(plaintext)))
        except (ValueError, CommitmentFormatError) as e:
            # Authenticated under our key yet malformed: written by a broken or foreign writer.
            raise SealedDecryptionError(commitment, f"decrypted opening is malformed ({type(e).__name__})") from None
        if not hmac.compare_digest(opening.commitment, commitment):
            # (``opening.commitment`` was just computed from the decrypted field, value and salt.)
            raise OpeningMismatch(commitment, opening.commitment, opening.field)
        return opening
