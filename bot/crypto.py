"""Field encryption and keyed lookup hashes for personal data at rest.

A Vault holds a key ring: the current data key, which seals everything new, and any
previous keys, which only open what they sealed and offer their lookup hashes, so that a
new key can be brought in while rows are re-sealed (`adref keys rotate`, bot.keys).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16

# The first byte of every sealed value is the id of the key that sealed it. Values sealed
# before keys had ids all say 1, whichever key sealed them; derived ids are never 1 (or 0),
# so such a value is known for what it is, tried under every key, and re-sealed by
# `adref keys rotate`.
LEGACY_KEY_ID = 1
FIRST_KEY_ID = 2
KEY_IDS = 256 - FIRST_KEY_ID


class VaultError(Exception):
    """A sealed value could not be opened: wrong key, unknown version, or tampered."""


def _subkey(data_key: bytes, purpose: bytes) -> bytes:
    """Derive an independent key for one purpose from the data key."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose)
    return hkdf.derive(data_key)


def key_id(data_key: bytes) -> int:
    """The byte that marks values sealed with data_key: 2-255, derived from the key.

    Derived rather than numbered by hand, so an operator can't give two keys one number
    or reuse a number; one byte of a derived subkey says nothing about the key. Two keys
    share an id once in 254: a vault refuses a previous key whose id is the current one's
    (`adref keys new` makes another), so "sealed under the current key" stays a question
    about one byte that SQL can answer.
    """
    return FIRST_KEY_ID + _subkey(data_key, b"adref/v1/key-id")[0] % KEY_IDS


class _Key:
    """One data key's subkeys and id."""

    __slots__ = ("aead", "hash_key", "id")

    def __init__(self, data_key: bytes) -> None:
        if len(data_key) != KEY_BYTES:
            raise ValueError(f"the data key must be {KEY_BYTES} bytes")
        # Separate subkeys: a lookup hash must never be usable as, or reveal, the
        # encryption key.
        self.aead = AESGCM(_subkey(data_key, b"adref/v1/field-encryption"))
        self.hash_key = _subkey(data_key, b"adref/v1/lookup-hash")
        self.id = key_id(data_key)

    def lookup_hash(self, kind: str, value: str) -> str:
        if "\x00" in kind:
            raise ValueError("kind must not contain NUL")
        # The NUL separator keeps ("ab", "c") and ("a", "bc") apart. Callers normalise
        # value first (e.g. a phone number to E.164) so the same person hashes the same.
        message = kind.encode("utf-8") + b"\x00" + value.encode("utf-8")
        return hmac.new(self.hash_key, message, hashlib.sha256).hexdigest()


class Vault:
    """Seals with the current key; opens and looks up with it and any previous keys."""

    __slots__ = ("_current", "_keys")

    def __init__(self, data_key: bytes, previous: Sequence[bytes] = ()) -> None:
        self._current = _Key(data_key)
        # The current key listed again among the previous ones is harmless: dropped.
        older = [_Key(k) for k in dict.fromkeys(previous) if k != data_key]
        for key in older:
            if key.id == self._current.id:
                raise ValueError(
                    f"a previous data key has the current key's id ({key.id}); make another"
                    " current key with `adref keys new`")
        self._keys = (self._current, *older)

    def __repr__(self) -> str:
        older = len(self._keys) - 1
        return f"Vault(<key hidden>{f', {older} previous' if older else ''})"

    @property
    def key_id(self) -> int:
        """The id of the current key: the first byte of everything it seals."""
        return self._current.id

    @property
    def previous_key_ids(self) -> tuple[int, ...]:
        """The ids of the previous keys, which still open and look up but never seal."""
        return tuple(key.id for key in self._keys[1:])

    def seal(self, text: str) -> bytes:
        """Encrypt text into key id + nonce + ciphertext and tag, under the current key."""
        header = bytes([self._current.id])
        nonce = secrets.token_bytes(NONCE_BYTES)
        # The header is authenticated too, so changing the key id byte is detected.
        return header + nonce + self._current.aead.encrypt(nonce, text.encode("utf-8"), header)

    def open(self, blob: bytes) -> str:
        """Decrypt a value sealed under any key of the ring, or raise VaultError."""
        if len(blob) < 1 + NONCE_BYTES + TAG_BYTES:
            raise VaultError("sealed value is too short")
        header, nonce, body = blob[:1], blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        if header[0] == LEGACY_KEY_ID:
            candidates = self._keys
        else:
            # Usually one; two previous keys may share an id, and GCM's tag tells which.
            candidates = tuple(key for key in self._keys if key.id == header[0])
            if not candidates:
                raise VaultError(f"sealed with unknown key id {header[0]}")
        for key in candidates:
            try:
                return key.aead.decrypt(nonce, body, header).decode("utf-8")
            except InvalidTag:
                continue
        raise VaultError("sealed value failed authentication")

    def is_current(self, blob: bytes) -> bool:
        """True when blob says it was sealed under the current key (not yet opened)."""
        return blob[:1] == bytes([self._current.id])

    def reseal(self, blob: bytes) -> bytes:
        """The same text sealed under the current key; VaultError if it can't be opened."""
        return self.seal(self.open(blob))

    def lookup_hash(self, kind: str, value: str) -> str:
        """Return a stable keyed hash of value in namespace kind, as hex, under the current key."""
        return self._current.lookup_hash(kind, value)

    def lookup_hashes(self, kind: str, value: str) -> tuple[str, ...]:
        """The hash under every key of the ring, the current key's first.

        A row stored before a rotation has the old key's hash until `adref keys rotate`
        reaches it: a lookup matches any of these so the row is found either way.
        """
        return tuple(key.lookup_hash(kind, value) for key in self._keys)
