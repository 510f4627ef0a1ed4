"""The key ring and blind-index keys from settings, parsed once per distinct setting."""

from __future__ import annotations

import hashlib
from functools import lru_cache

from vncomply.config import get_settings
from vncomply.kit.crypto import KeyRing, decode_key


@lru_cache(maxsize=4)
def _ring(spec: str, active: str | None) -> KeyRing:
    return KeyRing.from_spec(spec, active)


@lru_cache(maxsize=8)
def _bi(b64: str) -> bytes:
    return decode_key(b64)


def ring() -> KeyRing:
    s = get_settings()
    return _ring(s.field_keys, s.field_key_active)


def bi_key() -> bytes:
    """The blind-index key new rows are indexed under."""
    return _bi(get_settings().blind_index_key)


def bi_keys() -> tuple[bytes, ...]:
    """Every blind-index key a stored index may be under: the current one, then (during a
    rotation) the previous one. Lookups match under any of them."""
    s = get_settings()
    if s.blind_index_key_previous and s.blind_index_key_previous != s.blind_index_key:
        return (_bi(s.blind_index_key), _bi(s.blind_index_key_previous))
    return (_bi(s.blind_index_key),)


@lru_cache(maxsize=8)
def bi_fingerprint(key: bytes) -> str:
    """Which blind-index key a row was indexed under, stored with the row (rotation finds stale
    rows by it). 64 bits of a labelled hash: tells keys apart, reveals nothing of a 256-bit key."""
    return hashlib.sha256(b"vncomply-blind-index-key|" + key).hexdigest()[:16]
