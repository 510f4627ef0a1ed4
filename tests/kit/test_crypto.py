"""Field encryption, key rotation, blind indexes and API-key helpers."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vncomply.kit.crypto import (
    DecryptionError,
    KeyRing,
    aad_for,
    blind_index,
    decode_key,
    decrypt,
    encrypt,
    generate_key,
    hash_secret,
    key_id_of,
    new_token,
    reencrypt,
    verify_secret,
)

FEW = settings(max_examples=50, deadline=None)
K1 = generate_key()
K2 = generate_key()
RING = KeyRing.from_spec(f"k1:{K1}")
PLATFORM = uuid.UUID("6f1c2b1e-7d4a-4c55-9a0e-0d4b8f5a3c21")
AAD = aad_for(PLATFORM, "acct-1", "full_name")


@FEW
@given(st.text(max_size=300))
def test_roundtrip(text: str) -> None:
    blob = encrypt(RING, text, AAD)
    assert decrypt(RING, blob, AAD) == text


def test_blob_layout() -> None:
    blob = encrypt(RING, "Nguyễn Văn An", AAD)
    assert blob[0] == 0x01
    assert blob[1] == 2
    assert blob[2:4] == b"k1"
    assert key_id_of(blob) == "k1"
    # 1 + 1 + key id + nonce + plaintext + tag
    assert len(blob) == 4 + 12 + len("Nguyễn Văn An".encode()) + 16


def test_nonce_is_fresh() -> None:
    assert encrypt(RING, "same", AAD) != encrypt(RING, "same", AAD)


@pytest.mark.parametrize(
    "other",
    [
        aad_for(PLATFORM, "acct-2", "full_name"),
        aad_for(PLATFORM, "acct-1", "phone_number"),
        aad_for(uuid.uuid4(), "acct-1", "full_name"),
        b"",
    ],
)
def test_wrong_aad_fails(other: bytes) -> None:
    blob = encrypt(RING, "0912345678", AAD)
    with pytest.raises(DecryptionError):
        decrypt(RING, blob, other)


@FEW
@given(text=st.text(max_size=50), data=st.data())
def test_any_tampered_byte_fails(text: str, data: st.DataObject) -> None:
    blob = bytearray(encrypt(RING, text, AAD))
    i = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
    flip = data.draw(st.integers(min_value=1, max_value=255))
    blob[i] ^= flip
    with pytest.raises(DecryptionError):
        decrypt(RING, bytes(blob), AAD)


@pytest.mark.parametrize("blob", [b"", b"\x01", b"\x02\x02k1" + b"\x00" * 40, b"\x01\x02k1" + b"\x00" * 10])
def test_malformed_blobs(blob: bytes) -> None:
    with pytest.raises(DecryptionError):
        decrypt(RING, blob, AAD)


def test_unknown_key() -> None:
    blob = encrypt(KeyRing.from_spec(f"other:{K2}"), "x", AAD)
    with pytest.raises(DecryptionError, match="other"):
        decrypt(RING, blob, AAD)


@FEW
@given(st.text(max_size=100))
def test_rotation(text: str) -> None:
    old = encrypt(RING, text, AAD)
    rotated = KeyRing.from_spec(f"k1:{K1},k2:{K2}")
    assert rotated.active_key_id == "k2"
    new = encrypt(rotated, text, AAD)
    assert key_id_of(new) == "k2"
    assert decrypt(rotated, old, AAD) == decrypt(rotated, new, AAD) == text
    moved = reencrypt(rotated, old, AAD)
    assert key_id_of(moved) == "k2"
    assert decrypt(rotated, moved, AAD) == text
    assert reencrypt(rotated, moved, AAD) is moved


def test_from_spec_explicit_active_and_whitespace() -> None:
    ring = KeyRing.from_spec(f" k1:{K1} , k2:{K2}= ", active="k1")
    assert ring.active_key_id == "k1"
    assert ring.key_ids == ("k1", "k2")
    assert "k2" in ring


@pytest.mark.parametrize(
    ("spec", "active", "match"),
    [
        ("", None, "empty"),
        ("k1:" + generate_key()[:20], None, "bytes"),
        ("k1:not*base64", None, "base64url"),
        (f"k1{K1}", None, "no ':'"),
        (f"k1:{K1},k1:{K2}", None, "twice"),
        (f"k1:{K1}", "k9", "not in the ring"),
        (f"bad id:{K1}", None, "key id"),
    ],
)
def test_from_spec_errors(spec: str, active: str | None, match: str) -> None:
    with pytest.raises(ValueError, match=match) as err:
        KeyRing.from_spec(spec, active)
    # The message points at an entry by position and quotes nothing of the spec: a mistyped
    # ring (a key where the id belongs) must not reach a log through its error.
    for part in (K1, K2, K1[:8], "bad id", "k9"):
        assert part not in str(err.value)


def test_from_spec_never_echoes_a_key_pasted_as_the_id() -> None:
    with pytest.raises(ValueError, match="entry 2") as err:
        KeyRing.from_spec(f"k1:{K1},{K2}:k2")
    assert K2 not in str(err.value)
    assert K2[:8] not in str(err.value)


def test_key_header_is_the_prefix_of_every_blob_under_that_key() -> None:
    from vncomply.kit.crypto import key_header

    blob = encrypt(RING, "x", AAD)
    assert blob.startswith(key_header("k1"))
    assert not blob.startswith(key_header("k10"))  # the id's length is part of the header


def test_repr_hides_keys() -> None:
    ring = KeyRing.from_spec(f"k1:{K1}")
    assert K1 not in repr(ring)
    assert "k1" in repr(ring)


def test_generate_key_decodes_to_32_bytes() -> None:
    assert len(decode_key(generate_key())) == 32


def test_aad_is_unambiguous() -> None:
    assert aad_for(PLATFORM, "a:b", "c") != aad_for(PLATFORM, "a", "b:c")
    assert aad_for(PLATFORM, "a", "b") == aad_for(str(PLATFORM).upper(), "a", "b")


def test_blind_index() -> None:
    key = decode_key(K1)
    other = uuid.uuid4()
    bi = blind_index(key, PLATFORM, "+84912345678")
    assert len(bi) == 32
    assert bi == blind_index(key, str(PLATFORM), "+84912345678")
    assert bi != blind_index(key, other, "+84912345678")
    assert bi != blind_index(key, PLATFORM, "+84912345679")
    assert bi != blind_index(decode_key(K2), PLATFORM, "+84912345678")
    with pytest.raises(ValueError):
        blind_index(b"short", PLATFORM, "x")


def test_blind_index_known_answer() -> None:
    # Pins the derivation: changing it would orphan every stored index.
    import hashlib
    import hmac

    key = bytes(range(32))
    derived = hmac.new(key, b"vncomply-bi-v1|" + str(PLATFORM).encode(), hashlib.sha256).digest()
    expected = hmac.new(derived, b"001096012345", hashlib.sha256).digest()
    assert blind_index(key, PLATFORM, "001096012345") == expected


def test_secrets_and_tokens() -> None:
    token = new_token("vnc_")
    assert token.startswith("vnc_")
    assert len(token) > 40
    assert new_token("vnc_") != token
    digest = hash_secret(token)
    assert len(digest) == 32
    assert verify_secret(token, digest)
    assert not verify_secret(token + "x", digest)
