"""Tests for bot.crypto."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given
from hypothesis import strategies as st

from bot.crypto import LEGACY_KEY_ID, Vault, VaultError, key_id

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
THIRD_KEY = bytes(range(2, 34))


def legacy_seal(key: bytes, text: str) -> bytes:
    """A value as Adref sealed it before key ids: version byte 1, whatever the key."""
    subkey = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                  info=b"adref/v1/field-encryption").derive(key)
    nonce = os.urandom(12)
    return b"\x01" + nonce + AESGCM(subkey).encrypt(nonce, text.encode(), b"\x01")


def twin_of(key: bytes) -> bytes:
    """Another key with the same key id (one in 254 has it; found by counting)."""
    return next(k for k in (bytes([n]) * 31 + bytes([m]) for n in range(256) for m in range(256))
                if key_id(k) == key_id(key) and k != key)


@given(st.text())
def test_it_opens_what_it_sealed(text: str) -> None:
    vault = Vault(KEY)
    assert vault.open(vault.seal(text)) == text


def test_sealing_twice_gives_different_ciphertexts() -> None:
    vault = Vault(KEY)
    assert vault.seal("07700 900123") != vault.seal("07700 900123")


def test_the_ciphertext_does_not_contain_the_plaintext() -> None:
    text = "Dwi eisiau siarad â rhywun am 07700900123"
    blob = Vault(KEY).seal(text)
    assert blob[0] == key_id(KEY)
    assert text.encode() not in blob
    assert b"07700900123" not in blob


@pytest.mark.parametrize("position", [0, 1, 13, -1])
def test_it_detects_tampering(position: int) -> None:
    vault = Vault(KEY)
    blob = bytearray(vault.seal("call me in the evening"))
    blob[position] ^= 0x01
    with pytest.raises(VaultError):
        vault.open(bytes(blob))


def test_it_refuses_a_truncated_value() -> None:
    vault = Vault(KEY)
    with pytest.raises(VaultError, match="too short"):
        vault.open(vault.seal("")[:-1])


def test_another_key_cannot_open_it() -> None:
    with pytest.raises(VaultError):
        Vault(OTHER_KEY).open(Vault(KEY).seal("hello"))


def test_the_same_value_hashes_the_same() -> None:
    assert Vault(KEY).lookup_hash("sms", "+447700900123") == Vault(KEY).lookup_hash(
        "sms", "+447700900123"
    )


def test_a_different_key_gives_a_different_hash() -> None:
    assert Vault(KEY).lookup_hash("sms", "+447700900123") != Vault(OTHER_KEY).lookup_hash(
        "sms", "+447700900123"
    )


def test_the_kind_separates_hashes() -> None:
    vault = Vault(KEY)
    assert vault.lookup_hash("telegram", "12345") != vault.lookup_hash("sms", "12345")
    assert vault.lookup_hash("ab", "c") != vault.lookup_hash("a", "bc")


def test_the_hash_is_hex_and_reveals_nothing_obvious() -> None:
    digest = Vault(KEY).lookup_hash("sms", "+447700900123")
    assert len(digest) == 64
    int(digest, 16)
    assert "447700900123" not in digest


def test_it_needs_a_32_byte_key() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Vault(b"too short")


def test_its_repr_hides_the_keys() -> None:
    assert repr(Vault(KEY)) == "Vault(<key hidden>)"
    assert repr(Vault(KEY, [OTHER_KEY])) == "Vault(<key hidden>, 1 previous)"


# The key ring.


@given(st.binary(min_size=32, max_size=32))
def test_a_key_id_is_never_the_legacy_id_or_zero(key: bytes) -> None:
    assert LEGACY_KEY_ID < key_id(key) <= 255


def test_a_ring_seals_with_the_current_key_and_opens_what_any_of_its_keys_sealed() -> None:
    ring = Vault(KEY, [OTHER_KEY, THIRD_KEY])
    old, older = Vault(OTHER_KEY).seal("ddoe"), Vault(THIRD_KEY).seal("echdoe")
    assert (ring.open(old), ring.open(older)) == ("ddoe", "echdoe")
    new = ring.seal("heddiw")
    assert new[0] == ring.key_id == key_id(KEY) and ring.is_current(new)
    assert not ring.is_current(old)
    assert Vault(KEY).open(new) == "heddiw"
    with pytest.raises(VaultError):
        Vault(OTHER_KEY).open(new)


def test_reseal_moves_a_value_to_the_current_key() -> None:
    ring = Vault(KEY, [OTHER_KEY])
    moved = ring.reseal(Vault(OTHER_KEY).seal("07700 900123"))
    assert ring.is_current(moved) and Vault(KEY).open(moved) == "07700 900123"


def test_a_key_left_out_of_the_ring_opens_nothing_it_sealed() -> None:
    with pytest.raises(VaultError, match="unknown key id"):
        Vault(KEY, [OTHER_KEY]).open(Vault(THIRD_KEY).seal("hello"))


def test_a_value_from_before_key_ids_opens_under_whichever_key_sealed_it() -> None:
    legacy = legacy_seal(OTHER_KEY, "hen neges")
    assert legacy[0] == LEGACY_KEY_ID
    assert Vault(KEY, [OTHER_KEY]).open(legacy) == "hen neges"
    assert not Vault(KEY, [OTHER_KEY]).is_current(legacy)
    with pytest.raises(VaultError, match="authentication"):
        Vault(KEY, [THIRD_KEY]).open(legacy)


def test_lookups_offer_the_hash_under_every_key_the_current_one_first() -> None:
    ring = Vault(KEY, [OTHER_KEY])
    assert ring.lookup_hashes("sms", "+447700900123") == (
        Vault(KEY).lookup_hash("sms", "+447700900123"),
        Vault(OTHER_KEY).lookup_hash("sms", "+447700900123"))
    assert ring.lookup_hash("sms", "+447700900123") == ring.lookup_hashes("sms",
                                                                          "+447700900123")[0]


def test_the_current_key_listed_again_as_previous_is_ignored() -> None:
    ring = Vault(KEY, [KEY, OTHER_KEY, OTHER_KEY])
    assert ring.previous_key_ids == (key_id(OTHER_KEY),)


def test_a_previous_key_sharing_the_current_keys_id_is_refused() -> None:
    twin = twin_of(KEY)
    with pytest.raises(ValueError, match="adref keys new"):
        Vault(KEY, [twin])


def test_two_previous_keys_sharing_an_id_both_still_open() -> None:
    twin = twin_of(OTHER_KEY)
    ring = Vault(KEY, [OTHER_KEY, twin])
    assert ring.open(Vault(twin).seal("a")) == "a" and ring.open(Vault(OTHER_KEY).seal("b")) == "b"
