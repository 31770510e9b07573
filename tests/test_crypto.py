"""Tests for bot.crypto."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.crypto import KEY_VERSION, Vault, VaultError

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


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
    assert blob[0] == KEY_VERSION
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


def test_its_repr_hides_the_key() -> None:
    assert repr(Vault(KEY)) == "Vault(<key hidden>)"
