"""The key ring and blind-index key from settings, parsed once per distinct setting."""

from __future__ import annotations

from functools import lru_cache

from vncomply.config import get_settings
from vncomply.crypto import KeyRing, decode_key


@lru_cache(maxsize=4)
def _ring(spec: str, active: str | None) -> KeyRing:
    return KeyRing.from_spec(spec, active)


@lru_cache(maxsize=4)
def _bi(b64: str) -> bytes:
    return decode_key(b64)


def ring() -> KeyRing:
    s = get_settings()
    return _ring(s.field_keys, s.field_key_active)


def bi_key() -> bytes:
    return _bi(get_settings().blind_index_key)
