"""Phone verification by one-time code: 6 digits, valid 5 minutes, 5 attempts, 3 codes per phone
per 15 minutes (per platform: the phone's blind index is per platform)."""

from __future__ import annotations

import hmac
import math
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.identities import sms
from vncomply.identities.enums import VerificationStatus
from vncomply.identities.keys import bi_fingerprint, bi_key, bi_keys, ring
from vncomply.identities.models import PhoneVerification
from vncomply.identities.service import problem
from vncomply.identities.validation import ValidationProblem, normalize_phone
from vncomply.kit import clock
from vncomply.kit.crypto import aad_for, blind_index, encrypt
from vncomply.kit.db import after_commit, undo_if_after_commit_fails
from vncomply.kit.errors import Gone, InvalidInput, NotFound, RateLimited
from vncomply.kit.principal import Principal

CODE_TTL = timedelta(minutes=5)
ATTEMPTS = 5
RESEND_WINDOW = timedelta(minutes=15)
RESEND_MAX = 3


def _code_hash(verification_id: uuid.UUID, code: str, key: bytes | None = None) -> bytes:
    # Keyed: a 6-digit code has 20 bits, so a plain hash in a leaked table would fall instantly.
    msg = b"otp|" + verification_id.bytes + code.encode()
    return hmac.new(key or bi_key(), msg, "sha256").digest()


def _code_matches(row: PhoneVerification, code: str) -> bool:
    # Under any blind-index key in use: a code sent just before a key change still works.
    return any(hmac.compare_digest(row.code_hash, _code_hash(row.id, code, k)) for k in bi_keys())


def _send_after_commit(
    session: AsyncSession, actor: Principal, row: PhoneVerification, phone: str, code: str
) -> None:
    """The SMS goes out after the commit, never inside the transaction (a slow gateway must not
    hold locks and a connection); the request still answers only once the gateway accepted it.
    Refused: the verification is deleted again (the attempt does not count toward the resend
    limit, the number is not kept), the refusal is audited, and the request answers 503."""
    provider = sms.provider()  # a misconfigured provider fails before anything is written
    vid, platform_id = row.id, row.platform_id

    async def send() -> None:
        await provider.send(phone, f"Ma xac minh cua ban la {code}. Hieu luc 5 phut.")

    async def undo(s: AsyncSession) -> None:
        await s.execute(delete(PhoneVerification).where(PhoneVerification.id == vid))
        audit.record(s, actor, "phone_verification.sms_failed", "phone_verification", vid, platform_id)

    after_commit(session, send)
    undo_if_after_commit_fails(session, undo)


async def start(
    session: AsyncSession, actor: Principal, account_id: str, phone_number: str
) -> PhoneVerification:
    platform_id = actor.require_platform()
    try:
        phone = normalize_phone(phone_number)
    except ValidationProblem as p:
        raise problem(p) from None
    keys = bi_keys()
    phone_bi = blind_index(keys[0], platform_id, phone)
    now = clock.now()
    recent = (
        await session.execute(
            select(func.count(), func.min(PhoneVerification.created_at)).where(
                PhoneVerification.platform_id == platform_id,
                PhoneVerification.phone_bi.in_([blind_index(k, platform_id, phone) for k in keys]),
                PhoneVerification.created_at > now - RESEND_WINDOW,
            )
        )
    ).one()
    if recent[0] >= RESEND_MAX:
        wait = max(1, math.ceil((recent[1] + RESEND_WINDOW - now).total_seconds()))
        raise RateLimited(
            f"{RESEND_MAX} codes were already sent to this number in the last 15 minutes; "
            f"retry after {wait} s.",
            headers={"Retry-After": str(wait)},
        )
    kr = ring()
    vid = uuid.uuid4()
    code = f"{secrets.randbelow(1_000_000):06d}"
    row = PhoneVerification(
        id=vid,
        platform_id=platform_id,
        account_id=account_id,
        phone_enc=encrypt(kr, phone, aad_for(platform_id, f"otp:{vid}", "phone")),
        phone_bi=phone_bi,
        bi_key_fp=bi_fingerprint(keys[0]),
        key_id=kr.active_key_id,
        code_hash=_code_hash(vid, code),
        expires_at=now + CODE_TTL,
        attempts_left=ATTEMPTS,
        status=VerificationStatus.pending,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    audit.record(
        session,
        actor,
        "phone_verification.started",
        "phone_verification",
        vid,
        platform_id,
        {"account_id": account_id},
    )
    _send_after_commit(session, actor, row, phone, code)
    return row


class WrongCode(InvalidInput):
    """A wrong code (422). It commits (kit.errors): the attempt it spent must count, or a wrong
    code could be retried for free."""

    slug = "wrong-code"
    commits = True

    def __init__(self, attempts_left: int) -> None:
        super().__init__(
            f"The code is wrong; {attempts_left} attempt(s) left.",
            errors=[{"field": "code", "message": "wrong code", "code": "wrong_code"}],
            extra={"attempts_left": attempts_left},
        )
        self.attempts_left = attempts_left


async def confirm(session: AsyncSession, actor: Principal, verification_id: uuid.UUID, code: str) -> None:
    """Confirm the code; a wrong one raises ``WrongCode`` after spending an attempt."""
    platform_id = actor.require_platform()
    row = (
        await session.scalars(
            select(PhoneVerification)
            .where(
                PhoneVerification.id == verification_id,
                PhoneVerification.platform_id == platform_id,
            )
            .with_for_update()
        )
    ).first()
    if row is None:
        raise NotFound(f"No phone verification with id {verification_id} is visible to this key.")
    now = clock.now()
    if row.status == VerificationStatus.confirmed:
        raise Gone("This code was already used; start a new phone verification.")
    if row.status == VerificationStatus.failed or row.attempts_left <= 0:
        raise Gone("No attempts are left for this code; start a new phone verification.")
    if now >= row.expires_at:
        raise Gone("This code has expired (codes are valid 5 minutes); start a new one.")
    if _code_matches(row, code.strip()):
        row.status, row.confirmed_at = VerificationStatus.confirmed, now
        audit.record(
            session, actor, "phone_verification.confirmed", "phone_verification", row.id, platform_id
        )
        return
    row.attempts_left -= 1
    if row.attempts_left <= 0:
        row.status = VerificationStatus.failed
    audit.record(
        session,
        actor,
        "phone_verification.wrong_code",
        "phone_verification",
        row.id,
        platform_id,
        {"attempts_left": row.attempts_left},
    )
    raise WrongCode(row.attempts_left)


__all__ = ["ATTEMPTS", "CODE_TTL", "WrongCode", "confirm", "start"]
