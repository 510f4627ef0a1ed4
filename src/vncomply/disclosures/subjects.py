"""A request's subject, normalised: an account id, or the blind index of a phone or ID number.

The plaintext phone or ID number goes no further than ``subject_key``. While a blind-index key
rotation is in progress (``VNCOMPLY_BLIND_INDEX_KEY_PREVIOUS`` set) identity rows may still be
indexed under the previous key, so the key carries the subject's index under every key in use
(``SubjectKey.indexes``); the request stores the one under the current key.
"""

from __future__ import annotations

import uuid

from vncomply.config import get_settings
from vncomply.disclosures.enums import SubjectType
from vncomply.disclosures.identity_source import SubjectKey
from vncomply.disclosures.schemas import Subject
from vncomply.identities.keys import bi_keys
from vncomply.identities.validation import (
    PROVINCE_CODES,
    ValidationProblem,
    mask_national_id,
    mask_phone,
    normalize_phone,
)
from vncomply.kit.crypto import blind_index
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


def subject_key(platform_id: uuid.UUID, subject: Subject) -> tuple[SubjectKey, str | None]:
    """Normalise and validate the subject; returns its key and a masked form."""
    if subject.account_id is not None:
        return SubjectKey(SubjectType.account_id, account_id=subject.account_id), None
    if subject.phone_number is not None:
        try:
            phone = normalize_phone(subject.phone_number)
        except ValidationProblem as p:
            raise InvalidInput(p.message, field="subject.phone_number") from None
        return _indexed(platform_id, SubjectType.phone_number, phone), mask_phone(phone)
    nid = _lookup_national_id(subject.national_id or "")
    return _indexed(platform_id, SubjectType.national_id, nid), mask_national_id(nid)
