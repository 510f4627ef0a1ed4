"""Key rotation: re-encrypt identity and phone-verification blobs under the active key.

Resumable by construction: a batch takes rows whose ``key_id`` is not the active one (skipping rows
another rotator holds), re-encrypts them and records the new key id, so a stopped run simply
continues where it left off. Blind indexes use a separate key and are not touched.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.crypto import KeyRing, aad_for, reencrypt
from vncomply.identities.keys import ring
from vncomply.identities.models import Identity, PhoneVerification

_FIELDS = (
    ("full_name_enc", "full_name"),
    ("date_of_birth_enc", "date_of_birth"),
    ("phone_enc", "phone"),
    ("national_id_enc", "national_id"),
    ("guardian_enc", "guardian"),
)


async def remaining(session: AsyncSession, keyring: KeyRing | None = None) -> int:
    active = (keyring or ring()).active_key_id
    n_ident = await session.scalar(
        select(func.count()).select_from(Identity).where(Identity.key_id != active)
    )
    n_otp = await session.scalar(
        select(func.count()).select_from(PhoneVerification).where(PhoneVerification.key_id != active)
    )
    return int(n_ident or 0) + int(n_otp or 0)


async def rotate_batch(session: AsyncSession, batch_size: int = 500, keyring: KeyRing | None = None) -> int:
    """Re-encrypt up to ``batch_size`` rows; returns how many. 0 means rotation is complete."""
    kr = keyring or ring()
    active = kr.active_key_id
    rows = (
        await session.scalars(
            select(Identity)
            .where(Identity.key_id != active)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for row in rows:
        for attr, field in _FIELDS:
            blob = getattr(row, attr)
            if blob is not None:
                aad = aad_for(row.platform_id, row.account_id, field)
                setattr(row, attr, reencrypt(kr, blob, aad))
        row.key_id = active
        # updated_at is left alone: the identity did not change, only its encryption.
    done = len(rows)
    if done < batch_size:
        pvs = (
            await session.scalars(
                select(PhoneVerification)
                .where(PhoneVerification.key_id != active)
                .limit(batch_size - done)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for pv in pvs:
            pv.phone_enc = reencrypt(kr, pv.phone_enc, aad_for(pv.platform_id, f"otp:{pv.id}", "phone"))
            pv.key_id = active
        done += len(pvs)
    await session.flush()
    return done
