"""Validate one identity (PUT body or bulk line) and turn it into an encrypted row.

Pure apart from reading settings: no database, so the bulk path runs it per line and the PUT path
shares every rule with it. Cross-row checks (a ``reference`` naming one of our phone verifications)
are the caller's job, using ``Prepared.otp_reference``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from vncomply.config import get_settings
from vncomply.identities.enums import IdentityStatus, Method
from vncomply.identities.fastphone import normalize_phone_fast
from vncomply.identities.keys import bi_fingerprint, bi_key, bi_keys, ring
from vncomply.identities.schemas import Guardian, IdentityIn
from vncomply.identities.validation import (
    ValidationProblem,
    age_on,
    mask_name,
    mask_national_id,
    mask_phone,
    normalize_full_name,
    normalize_phone,
    validate_date_of_birth,
    validate_national_id,
)
from vncomply.kit import clock
from vncomply.kit.crypto import KeyRing, aad_prefix, aad_with, blind_index, encrypt
from vncomply.rulebook import rules as rulebook

ADULT_AGE = 18  # Civil Code: a guardian must be an adult
# The minor age (under it, a parent or guardian registers the account) and whether the ID number
# verifies only users without a VN mobile are the rulebook's (topic verified_actions), read at write
# time: ``minor_until`` is stored from the rule in force when the identity is recorded.

# The columns written by PUT and bulk, in COPY order.
COLUMNS = (
    "platform_id", "account_id", "status", "method", "verified_at", "verification_reference",
    "full_name_enc", "date_of_birth_enc", "phone_enc", "national_id_enc", "guardian_enc",
    "phone_bi", "national_id_bi", "key_id", "bi_key_fp", "minor_until", "has_guardian", "has_national_id",
    "no_vn_mobile_attested", "commercial_livestreamer", "revoked_at", "closed_at", "purged_at",
    "created_at", "updated_at",
)  # fmt: skip
# PostgreSQL types of COLUMNS, for bulk ingest's binary COPY (a drift test holds them to the table).
COPY_TYPES = {
    "platform_id": "uuid", "account_id": "text", "status": "text", "method": "text",
    "verified_at": "timestamptz", "verification_reference": "text", "full_name_enc": "bytea",
    "date_of_birth_enc": "bytea", "phone_enc": "bytea", "national_id_enc": "bytea",
    "guardian_enc": "bytea", "phone_bi": "bytea", "national_id_bi": "bytea", "key_id": "text",
    "bi_key_fp": "text", "minor_until": "date", "has_guardian": "bool", "has_national_id": "bool",
    "no_vn_mobile_attested": "bool", "commercial_livestreamer": "bool", "revoked_at": "timestamptz",
    "closed_at": "timestamptz", "purged_at": "timestamptz", "created_at": "timestamptz",
    "updated_at": "timestamptz",
}  # fmt: skip


@dataclass(slots=True)
class Prepared:
    row: dict[str, Any]
    masked: dict[str, str | None]
    is_minor: bool
    otp_reference: uuid.UUID | None
    # With a reference to check: the phone's blind index under every key in use (a verification
    # made before a blind-index key change is indexed under the previous key).
    ref_phone_bis: tuple[bytes, ...] = ()


def _birthday(dob: date, age: int) -> date:
    try:
        return dob.replace(year=dob.year + age)
    except ValueError:  # 29 February → 1 March, as age_on counts it
        return date(dob.year + age, 3, 1)


def _nid(raw: str, dob: date, field: str) -> str:
    extra = frozenset(get_settings().national_id_extra_prefixes)
    try:
        return validate_national_id(raw, dob, extra)
    except ValidationProblem as p:
        raise ValidationProblem(field, p.message) from None


def _guardian(g: Guardian, today: date) -> dict[str, str]:
    name = normalize_full_name(g.full_name)
    try:
        dob = validate_date_of_birth(g.date_of_birth, today)
    except ValidationProblem as p:
        raise ValidationProblem("guardian.date_of_birth", p.message) from None
    if age_on(dob, today) < ADULT_AGE:
        raise ValidationProblem(
            "guardian.date_of_birth",
            f"the guardian must be an adult ({ADULT_AGE} or older); send a parent's or legal "
            "guardian's identity",
        )
    out = {"full_name": name, "date_of_birth": dob.isoformat(), "relationship": g.relationship}
    if g.phone_number is None and g.national_id is None:
        raise ValidationProblem(
            "guardian",
            "the guardian needs a Vietnamese mobile number (guardian.phone_number) or a 12-digit "
            "personal ID number (guardian.national_id)",
        )
    if g.phone_number is not None:
        try:
            out["phone_number"] = normalize_phone(g.phone_number)
        except ValidationProblem as p:
            raise ValidationProblem("guardian.phone_number", p.message) from None
    if g.national_id is not None:
        out["national_id"] = _nid(g.national_id, dob, "guardian.national_id")
    return out


def _otp_reference(ref: str | None) -> uuid.UUID | None:
    if ref is None:
        return None
    try:
        return uuid.UUID(ref)
    except ValueError:
        return None


def prepare(
    platform_id: uuid.UUID,
    account_id: str,
    body: IdentityIn,
    *,
    keyring: KeyRing | None = None,
    bikey: bytes | None = None,
) -> Prepared:
    """Apply the Decree 147 rules and encrypt. Raises ``ValidationProblem`` naming the field."""
    now = clock.now()
    today = now.astimezone(clock.VN_TZ).date()
    rule = rulebook.in_force("verified_actions", now).params
    minor_age: int = rule["minor_age"]
    kr = keyring or ring()
    bk = bikey or bi_key()

    name = normalize_full_name(body.full_name)
    dob = validate_date_of_birth(body.date_of_birth, today)
    phone = normalize_phone_fast(body.phone_number) if body.phone_number is not None else None
    nid = _nid(body.national_id, dob, "national_id") if body.national_id is not None else None

    if phone is None:
        if not body.no_vn_mobile_attested:
            raise ValidationProblem(
                "phone_number",
                "phone_number is required; a user without a Vietnamese mobile number may verify "
                "with national_id and no_vn_mobile_attested: true",
            )
        if nid is None:
            raise ValidationProblem(
                "national_id",
                "national_id (12 digits) is required when no_vn_mobile_attested is true",
            )
    method = body.verification.method
    if method is Method.sms_otp and phone is None:
        raise ValidationProblem(
            "verification.method", "method sms_otp needs phone_number (the number the code went to)"
        )
    if method is Method.national_id and nid is None:
        raise ValidationProblem("verification.method", "method national_id needs national_id (12 digits)")
    if rule["national_id_needs_no_vn_mobile"]:
        if method is Method.national_id and not body.no_vn_mobile_attested:
            raise ValidationProblem(
                "verification.method",
                "method national_id is accepted only when the user attests having no Vietnamese "
                "mobile number (no_vn_mobile_attested: true, Decree 147); verify with sms_otp otherwise",
            )
        if body.no_vn_mobile_attested and phone is not None:
            raise ValidationProblem(
                "no_vn_mobile_attested",
                "no_vn_mobile_attested is true but phone_number is set: a user with a Vietnamese "
                "mobile number verifies with it; send one or the other",
            )
    if body.verification.verified_at > now:
        raise ValidationProblem("verification.verified_at", "verification.verified_at is in the future")
    if body.commercial_livestreamer and nid is None:
        raise ValidationProblem(
            "national_id",
            "commercial_livestreamer needs verification by personal ID number: send national_id",
        )

    is_minor = age_on(dob, today) < minor_age
    guardian = _guardian(body.guardian, today) if body.guardian is not None else None
    if is_minor and guardian is None:
        raise ValidationProblem(
            "guardian",
            f"the user is under {minor_age}: Decree 147 requires a parent or guardian to register "
            "the account; send guardian {full_name, date_of_birth, phone_number or national_id, "
            "relationship}",
        )

    aad = aad_prefix(platform_id, account_id)

    def enc(field: str, value: str) -> bytes:
        return encrypt(kr, value, aad_with(aad, field))

    row: dict[str, Any] = {
        "platform_id": platform_id,
        "account_id": account_id,
        "status": IdentityStatus.verified.value,  # plain text: the row also goes to COPY
        "method": method.value,
        "verified_at": body.verification.verified_at,
        "verification_reference": body.verification.reference,
        "full_name_enc": enc("full_name", name),
        "date_of_birth_enc": enc("date_of_birth", dob.isoformat()),
        "phone_enc": enc("phone", phone) if phone else None,
        "national_id_enc": enc("national_id", nid) if nid else None,
        "guardian_enc": enc("guardian", orjson.dumps(guardian).decode()) if guardian else None,
        "phone_bi": blind_index(bk, platform_id, phone) if phone else None,
        "national_id_bi": blind_index(bk, platform_id, nid) if nid else None,
        "key_id": kr.active_key_id,
        "bi_key_fp": bi_fingerprint(bk),
        "minor_until": _birthday(dob, minor_age) if is_minor else None,
        "has_guardian": guardian is not None,
        "has_national_id": nid is not None,
        "no_vn_mobile_attested": body.no_vn_mobile_attested,
        "commercial_livestreamer": body.commercial_livestreamer,
        "revoked_at": None,
        "closed_at": None,
        "purged_at": None,  # recorded anew: the data is back, the purge no longer describes it
        "created_at": now,
        "updated_at": now,
    }
    masked = {
        "full_name": mask_name(name),
        "phone_number": mask_phone(phone) if phone else None,
        "national_id": mask_national_id(nid) if nid else None,
    }
    ref = _otp_reference(body.verification.reference) if method is Method.sms_otp else None
    ref_bis = tuple(blind_index(k, platform_id, phone) for k in bi_keys()) if ref and phone else ()
    return Prepared(row, masked, is_minor, ref, ref_bis)
