"""Field encryption, blind indexes and API-key hashing (design rule 7: PII encrypted at rest).

Ciphertext blob layout (all fields needed to decrypt travel with the value, so a key rotation can
proceed row by row while old and new blobs coexist)::

    0x01 | len(key_id) (1 byte) | key_id (utf-8) | nonce (12 bytes) | ciphertext + tag (16 bytes)

The header (version + key id) is authenticated together with the caller's AAD, and the AAD binds the
value to its platform, account and field, so a blob copied into another row does not decrypt.

Blind indexes are HMAC-SHA256 under a separate key, derived per platform so equal values in two
tenants give unrelated indexes (no cross-tenant linkage from the database alone).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import re
import secrets
import struct
from collections.abc import Iterable, Mapping
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "BLOB_VERSION",
    "KEY_BYTES",
    "DecryptionError",
    "KeyRing",
    "aad_for",
    "aad_prefix",
    "aad_with",
    "blind_index",
    "decode_key",
    "decrypt",
    "encrypt",
    "generate_key",
    "hash_secret",
    "key_header",
    "key_id_of",
    "new_token",
    "reencrypt",
    "verify_secret",
]

BLOB_VERSION = 0x01
KEY_BYTES = 32
# 96 bits: the nonce size GCM is specified for. Random nonces stay safe for ~2^32 encryptions per
# key, far beyond what one key sees here before rotation.
NONCE_BYTES = 12
TAG_BYTES = 16
_BI_LABEL = b"vncomply-bi-v1|"
_AAD_LABEL = b"vncomply-aad-v1"
# Key ids appear in a comma/colon separated spec and inside every blob; keep them short and plain.
_KEY_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_B64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


class DecryptionError(Exception):
    """The blob is malformed, was made with an unknown key, or fails authentication.

    Deliberately carries no detail about the plaintext; callers should treat it as data corruption
    or tampering, never retry with another AAD.
    """


def decode_key(b64: str) -> bytes:
    """Decode a base64url key (padding optional) and insist on exactly 32 bytes (AES-256)."""
    text = b64.strip()
    if not _B64URL.fullmatch(text):
        raise ValueError("key is not base64url text (A-Z a-z 0-9 - _); generate one with generate_key()")
    try:
        key = base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("key is not valid base64url; generate one with generate_key()") from None
    if len(key) != KEY_BYTES:
        raise ValueError(
            f"key decodes to {len(key)} bytes; AES-256 needs exactly {KEY_BYTES} "
            "(generate one with generate_key())"
        )
    return key


class KeyRing:
    """Data-encryption keys by id, one of them active for new encryptions.

    Old keys stay in the ring so existing blobs decrypt until rotation has re-encrypted them.
    ``repr`` never shows key material, so a ring can sit in settings objects that get logged.
    """

    __slots__ = ("_aead", "_keys", "active_key_id")

    def __init__(self, keys: Mapping[str, bytes], active_key_id: str) -> None:
        if not keys:
            raise ValueError("key ring is empty; configure at least one key as 'id:BASE64URL'")
        for key_id, key in keys.items():
            if not _KEY_ID.fullmatch(key_id):
                raise ValueError(f"key id {key_id!r} must be 1-64 characters from A-Z a-z 0-9 _ . -")
            if len(key) != KEY_BYTES:
                raise ValueError(f"key {key_id!r} is {len(key)} bytes; AES-256 needs exactly {KEY_BYTES}")
        if active_key_id not in keys:
            raise ValueError(f"active key id {active_key_id!r} is not in the ring (have: {', '.join(keys)})")
        self._keys: dict[str, bytes] = {k: bytes(v) for k, v in keys.items()}
        # One cipher object per key: building it costs more than sealing a short field.
        self._aead: dict[str, AESGCM] = {k: AESGCM(v) for k, v in self._keys.items()}
        self.active_key_id = active_key_id

    @classmethod
    def from_spec(cls, spec: str, active: str | None = None) -> KeyRing:
        """Parse ``"k1:BASE64URL,k2:BASE64URL"``.

        With ``active`` unset the last key listed is active: rotation is "append a key", and the
        newest one then encrypts everything new. Errors name an entry by its position and never
        quote the spec: a mistyped ring (a key pasted where the id belongs) must not reach a log.
        """
        keys: dict[str, bytes] = {}
        entries = [e.strip() for e in spec.split(",") if e.strip()]
        for n, entry in enumerate(entries, 1):
            key_id, sep, b64 = entry.partition(":")
            key_id = key_id.strip()
            if not sep:
                raise ValueError(f"key ring entry {n} has no ':'; write 'id:BASE64URL'")
            if not _KEY_ID.fullmatch(key_id):
                raise ValueError(
                    f"key ring entry {n}: the key id must be 1-64 characters from A-Z a-z 0-9 _ . -"
                )
            if key_id in keys:
                raise ValueError(f"key ring entry {n}: its key id appears twice in the key ring")
            try:
                keys[key_id] = decode_key(b64)
            except ValueError as exc:
                raise ValueError(f"key ring entry {n}: {exc}") from None
        if not keys:
            raise ValueError("key ring spec is empty; write 'k1:BASE64URL[,k2:BASE64URL...]'")
        if active is not None and active not in keys:
            raise ValueError(f"the active key id is not in the ring ({len(keys)} key(s))")
        return cls(keys, active if active is not None else list(keys)[-1])

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    @property
    def active_key(self) -> bytes:
        return self._keys[self.active_key_id]

    def get(self, key_id: str) -> bytes | None:
        return self._keys.get(key_id)

    def aead(self, key_id: str) -> AESGCM | None:
        return self._aead.get(key_id)

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._keys

    def __repr__(self) -> str:
        return f"KeyRing(key_ids={list(self._keys)!r}, active_key_id={self.active_key_id!r})"


@functools.lru_cache(maxsize=4096)
def _platform_bytes(platform_id: UUID | str) -> bytes:
    # A UUID given as text in any case/format must derive the same keys and AAD as the UUID object.
    if isinstance(platform_id, UUID):
        return str(platform_id).encode()
    try:
        return str(UUID(platform_id)).encode()
    except ValueError:
        return platform_id.encode()


def _length_prefixed(parts: Iterable[bytes]) -> bytes:
    # 4-byte big-endian lengths: ("a:b", "c") and ("a", "b:c") can never encode alike.
    return b"".join(struct.pack(">I", len(p)) + p for p in parts)


def aad_for(platform_id: UUID | str, account_id: str, field: str) -> bytes:
    """Associated data binding a ciphertext to its platform, account and field."""
    return aad_prefix(platform_id, account_id) + _field_part(field)


def aad_prefix(platform_id: UUID | str, account_id: str) -> bytes:
    """The platform-and-account part of ``aad_for``: ``aad_with(prefix, field)`` equals
    ``aad_for(platform_id, account_id, field)`` (the encoding is a concatenation), so a row with
    several fields builds it once."""
    return _length_prefixed((_AAD_LABEL, _platform_bytes(platform_id), account_id.encode()))


def aad_with(prefix: bytes, field: str) -> bytes:
    return prefix + _field_part(field)


@functools.lru_cache(maxsize=64)
def _field_part(field: str) -> bytes:
    return _length_prefixed((field.encode(),))


@functools.lru_cache(maxsize=64)
def _header(key_id: str) -> bytes:
    kid = key_id.encode()
    return bytes((BLOB_VERSION, len(kid))) + kid


def key_header(key_id: str) -> bytes:
    """The first bytes of every blob sealed under ``key_id`` (version, id length, id): a table
    without a key-id column finds its blobs under other keys by this prefix, in SQL."""
    return _header(key_id)


def encrypt(ring: KeyRing, plaintext: str, aad: bytes) -> bytes:
    """Encrypt under the ring's active key with a fresh random nonce."""
    header = _header(ring.active_key_id)
    nonce = secrets.token_bytes(NONCE_BYTES)
    aead = ring.aead(ring.active_key_id)
    assert aead is not None  # the ring's constructor checks the active key is in it
    ct = aead.encrypt(nonce, plaintext.encode(), header + aad)
    return header + nonce + ct


def _split(blob: bytes) -> tuple[bytes, str, bytes, bytes]:
    """Return (header, key_id, nonce, ciphertext) or raise DecryptionError."""
    if len(blob) < 2 or blob[0] != BLOB_VERSION:
        raise DecryptionError("ciphertext has an unknown format version")
    kid_end = 2 + blob[1]
    if len(blob) < kid_end + NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("ciphertext is truncated")
    try:
        key_id = blob[2:kid_end].decode()
    except UnicodeDecodeError:
        raise DecryptionError("ciphertext has a corrupt key id") from None
    return (
        blob[:kid_end],
        key_id,
        blob[kid_end : kid_end + NONCE_BYTES],
        blob[kid_end + NONCE_BYTES :],
    )


def key_id_of(blob: bytes) -> str:
    """The id of the key a blob was encrypted with (rotation finds stale rows by it)."""
    return _split(blob)[1]


def decrypt(ring: KeyRing, blob: bytes, aad: bytes) -> str:
    header, key_id, nonce, ct = _split(blob)
    aead = ring.aead(key_id)
    if aead is None:
        raise DecryptionError(f"ciphertext was encrypted with key {key_id!r}, which is not in the ring")
    try:
        plaintext = aead.decrypt(nonce, ct, header + aad)
    except InvalidTag:
        raise DecryptionError(
            "ciphertext failed authentication (tampered, or read with the wrong platform, account or field)"
        ) from None
    return plaintext.decode()


def reencrypt(ring: KeyRing, blob: bytes, aad: bytes) -> bytes:
    """Re-encrypt under the active key; a blob already under it is returned unchanged."""
    if key_id_of(blob) == ring.active_key_id:
        return blob
    return encrypt(ring, decrypt(ring, blob, aad), aad)


def blind_index(key: bytes, platform_id: UUID | str, value: str) -> bytes:
    """32-byte HMAC-SHA256 equality index of an already-normalised ``value`` within one platform.

    Callers must normalise first (E.164 phone, digits-only ID) or equal values will not match.
    """
    return hmac.digest(_platform_bi_key(key, platform_id), value.encode(), "sha256")


@functools.lru_cache(maxsize=4096)
def _platform_bi_key(key: bytes, platform_id: UUID | str) -> bytes:
    if len(key) != KEY_BYTES:
        raise ValueError(f"blind index key is {len(key)} bytes; it must be {KEY_BYTES}")
    return hmac.new(key, _BI_LABEL + _platform_bytes(platform_id), hashlib.sha256).digest()


def generate_key() -> str:
    """A new random 32-byte key as unpadded base64url, for key ring specs and dev set-ups."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).rstrip(b"=").decode()


def hash_secret(secret: str) -> bytes:
    """SHA-256 of an API key. The keys are 256-bit random tokens, so a slow KDF adds nothing and a
    fast hash lets every request authenticate with one indexed lookup."""
    return hashlib.sha256(secret.encode()).digest()


def verify_secret(secret: str, digest: bytes) -> bool:
    return hmac.compare_digest(hash_secret(secret), digest)


def new_token(prefix: str, nbytes: int = 32) -> str:
    """A random token with a readable prefix (e.g. ``vnc_``) so a leaked key is recognisable."""
    return prefix + secrets.token_urlsafe(nbytes)
