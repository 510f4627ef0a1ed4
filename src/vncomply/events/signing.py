"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

``webhook-signature: v1,<base64 HMAC-SHA256(key, f"{id}.{timestamp}.{body}")>``, where the secret
is ``whsec_`` + base64(32 random bytes) and the HMAC key is the decoded part after ``whsec_``.
Several space-separated signatures are sent while a rotated-out secret is still valid.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from vncomply.config import get_settings
from vncomply.kit.crypto import KeyRing, aad_for, decrypt, encrypt, reencrypt

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def headers(secrets_: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, msg_id, timestamp, body) for s in secrets_),
        "content-type": "application/json",
    }


_rings: dict[tuple[str, str | None], KeyRing] = {}


def _ring() -> KeyRing:
    s = get_settings()
    spec = (s.field_keys, s.field_key_active)
    ring = _rings.get(spec)
    if ring is None:
        ring = _rings[spec] = KeyRing.from_spec(*spec)
    return ring


def _aad(platform_id: object, endpoint_id: object) -> bytes:
    return aad_for(str(platform_id), str(endpoint_id), "webhook_secret")


def seal(secret: str, platform_id: object, endpoint_id: object) -> bytes:
    return encrypt(_ring(), secret, _aad(platform_id, endpoint_id))


def unseal(blob: bytes, platform_id: object, endpoint_id: object) -> str:
    return decrypt(_ring(), blob, _aad(platform_id, endpoint_id))


def reseal(ring: KeyRing, blob: bytes, platform_id: object, endpoint_id: object) -> bytes:
    """The secret re-encrypted under ``ring``'s active key (key rotation); unchanged if it is."""
    return reencrypt(ring, blob, _aad(platform_id, endpoint_id))
