"""Field encryption and keyed lookup hashes for personal data at rest."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16

# The first byte of every sealed value names the key that sealed it, so a new data key
# can be introduced later while old rows stay readable until they are re-sealed.
KEY_VERSION = 1


class VaultError(Exception):
    """A sealed value could not be opened: wrong key, unknown version, or tampered."""


def _subkey(data_key: bytes, purpose: bytes) -> bytes:
    """Derive an independent key for one purpose from the data key."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose)
    return hkdf.derive(data_key)


class Vault:
    """Seals and opens text with AES-GCM and computes keyed lookup hashes."""

    __slots__ = ("_aead", "_hash_key")

    def __init__(self, data_key: bytes) -> None:
        if len(data_key) != KEY_BYTES:
            raise ValueError(f"the data key must be {KEY_BYTES} bytes")
        # Separate subkeys: a lookup hash must never be usable as, or reveal, the
        # encryption key, and each can be rotated on its own.
        self._aead = AESGCM(_subkey(data_key, b"adref/v1/field-encryption"))
        self._hash_key = _subkey(data_key, b"adref/v1/lookup-hash")

    def __repr__(self) -> str:
        return "Vault(<key hidden>)"

    def seal(self, text: str) -> bytes:
        """Encrypt text into version byte + nonce + ciphertext and tag."""
        header = bytes([KEY_VERSION])
        nonce = secrets.token_bytes(NONCE_BYTES)
        # The header is authenticated too, so changing the version byte is detected.
        return header + nonce + self._aead.encrypt(nonce, text.encode("utf-8"), header)

    def open(self, blob: bytes) -> str:
        """Decrypt a value made by seal, or raise VaultError."""
        if len(blob) < 1 + NONCE_BYTES + TAG_BYTES:
            raise VaultError("sealed value is too short")
        header, nonce, body = blob[:1], blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        if header[0] != KEY_VERSION:
            raise VaultError(f"sealed with unknown key version {header[0]}")
        try:
            return self._aead.decrypt(nonce, body, header).decode("utf-8")
        except InvalidTag as error:
            raise VaultError("sealed value failed authentication") from error

    def lookup_hash(self, kind: str, value: str) -> str:
        """Return a stable keyed hash of value in namespace kind, as hex."""
        if "\x00" in kind:
            raise ValueError("kind must not contain NUL")
        # The NUL separator keeps ("ab", "c") and ("a", "bc") apart. Callers normalise
        # value first (e.g. a phone number to E.164) so the same person hashes the same.
        message = kind.encode("utf-8") + b"\x00" + value.encode("utf-8")
        return hmac.new(self._hash_key, message, hashlib.sha256).hexdigest()
