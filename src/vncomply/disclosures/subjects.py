"""A request's subject, normalised: an account id, or the blind index of a phone or ID number.

The plaintext phone or ID number goes no further than this module: it leaves as its blind index,
its masked form and its blob under the field-encryption key (``Normalised``), and comes back from
the blob only to be indexed again (``key_of``).

While a blind-index key rotation is in progress (``VNCOMPLY_BLIND_INDEX_KEY_PREVIOUS`` set) identity
rows may still be indexed under the previous key, so the key carries the subject's index under every
key in use (``SubjectKey.indexes``); the request stores the one under the current key. A request
that stays open across a whole rotation is re-indexed by it (``reindex``, called by
``vncomply.identities.rotation``), and a decision indexes the decrypted subject under the keys in
use at that moment, so no key change can make a request match nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from vncomply.config import get_settings
from vncomply.disclosures.enums import SubjectType
from vncomply.disclosures.identity_source import SubjectKey
from vncomply.disclosures.models import DisclosureRequest
from vncomply.disclosures.schemas import Subject
from vncomply.identities.keys import bi_fingerprint, bi_key, bi_keys, ring
from vncomply.identities.validation import (
    PROVINCE_CODES,
    ValidationProblem,
    mask_national_id,
    mask_phone,
    normalize_phone,
)
from vncomply.kit import references
from vncomply.kit.crypto import KeyRing, aad_for, blind_index, decrypt, encrypt, reencrypt
from vncomply.kit.errors import InvalidInput


def _lookup_national_id(raw: str) -> str:
    """A CCCD for lookup: no birth date to check against, so structure only (12 digits, province)."""
    field = "subject.national_id"
    nid = "".join(raw.split())
    if not nid.isascii() or not nid.isdigit():
        raise InvalidInput(
            "national_id must contain only digits; send the 12-digit personal ID number",
            field=field,
        )
    if len(nid) == 9:
        raise InvalidInput(
            "national_id has 9 digits: the old identity card number (CMND) is no longer valid "
            "since 2024-12-31; send the 12-digit personal identification number (CCCD) instead",
            field=field,
        )
    if len(nid) != 12:
        raise InvalidInput(
            f"national_id has {len(nid)} digits; the personal identification number (CCCD) has exactly 12",
            field=field,
        )
    extra = frozenset(get_settings().national_id_extra_prefixes)
    if nid[:3] not in PROVINCE_CODES and nid[:3] not in extra:
        raise InvalidInput(
            f"national_id digits 1-3 are {nid[:3]}, which is not a province code (001-096) or an "
            "allowed country code; check the number",
            field=field,
        )
    return nid


def _indexed(platform_id: uuid.UUID, type_: SubjectType, value: str) -> SubjectKey:
    current, *others = (blind_index(k, platform_id, value) for k in bi_keys())
    return SubjectKey(type_, blind_index=current, alternates=tuple(others))


def _aad(platform_id: uuid.UUID, request_id: uuid.UUID, type_: SubjectType) -> bytes:
    # Bound to its request: a blob copied onto another request (or platform) does not decrypt.
    return aad_for(platform_id, f"disclosure:{request_id}", type_.value)


@dataclass(frozen=True, slots=True)
class Normalised:
    key: SubjectKey
    masked: str | None = None
    sealed: bytes | None = None  # the phone or ID number under the field key
    key_id: str | None = None  # the field key it is under
    bi_key_fp: str | None = None  # the blind-index key ``key.blind_index`` is under


def _sealed(
    platform_id: uuid.UUID, request_id: uuid.UUID, type_: SubjectType, value: str, masked: str
) -> Normalised:
    kr = ring()
    return Normalised(
        _indexed(platform_id, type_, value),
        masked,
        encrypt(kr, value, _aad(platform_id, request_id, type_)),
        kr.active_key_id,
        bi_fingerprint(bi_key()),
    )


def subject_key(platform_id: uuid.UUID, request_id: uuid.UUID, subject: Subject) -> Normalised:
    """Normalise and validate the subject of request ``request_id``."""
    if subject.account_id is not None:
        return Normalised(SubjectKey(SubjectType.account_id, account_id=subject.account_id))
    if subject.phone_number is not None:
        try:
            phone = normalize_phone(subject.phone_number)
        except ValidationProblem as p:
            raise InvalidInput(p.message, field="subject.phone_number") from None
        return _sealed(platform_id, request_id, SubjectType.phone_number, phone, mask_phone(phone))
    nid = _lookup_national_id(subject.national_id or "")
    return _sealed(platform_id, request_id, SubjectType.national_id, nid, mask_national_id(nid))


def key_of(req: DisclosureRequest) -> SubjectKey:
    """The stored request's subject, indexed under every blind-index key in use now. A request
    recorded before its subject was kept encrypted has only the index it was stored with."""
    if req.subject_enc is None:
        return SubjectKey(req.subject_type, req.subject_account_id, req.subject_blind_index)
    value = decrypt(ring(), req.subject_enc, _aad(req.platform_id, req.id, req.subject_type))
    return _indexed(req.platform_id, req.subject_type, value)


def payload_hashes(content: dict[str, Any], key: SubjectKey) -> tuple[bytes, ...]:
    """The request's payload fingerprint (``kit.references``) with the subject as its blind index,
    never in clear: one per key in use, the current one first. ``content`` is the rest of the
    canonical payload (``content``)."""

    def with_index(index: bytes | None) -> bytes:
        subject = [key.type, key.account_id, index.hex() if index is not None else None]
        return references.fingerprint({**content, "subject": subject})

    return tuple(with_index(i) for i in key.indexes) or (with_index(None),)


def content(
    platform_id: uuid.UUID, legal_basis: str, reason: str, urgency: str, fields: list[str]
) -> dict[str, Any]:
    """A request's canonical payload, its subject aside (as ``payload_hashes`` wants): built by
    hand, not from the body, so that it is the same for a new request and a stored one."""
    return {
        "platform_id": str(platform_id),
        "legal_basis": legal_basis,
        "reason": reason,
        "urgency": str(urgency),
        "fields": list(fields),
    }


def reindex(req: DisclosureRequest, keyring: KeyRing, bikey: bytes) -> None:
    """Bring the request's subject under ``keyring``'s active key and the blind-index key ``bikey``
    (the key rotation's step for this table); its payload fingerprint follows its index, so a retry
    after the rotation is still recognised as the same request."""
    if req.subject_enc is None:
        return
    aad = _aad(req.platform_id, req.id, req.subject_type)
    fp = bi_fingerprint(bikey)
    if req.subject_bi_key_fp != fp:
        req.subject_blind_index = blind_index(bikey, req.platform_id, decrypt(keyring, req.subject_enc, aad))
        req.subject_bi_key_fp = fp
        key = SubjectKey(req.subject_type, blind_index=req.subject_blind_index)
        stored = content(req.platform_id, req.legal_basis, req.reason, req.urgency, req.fields)
        req.payload_hash = payload_hashes(stored, key)[0]
    if req.key_id != keyring.active_key_id:
        req.subject_enc = reencrypt(keyring, req.subject_enc, aad)
        req.key_id = keyring.active_key_id
