"""Key rotation: bring every identity and phone verification under the current keys.

Two keys are rotated in one pass, row by row:
- the field-encryption key: blobs not under the ring's active key are re-encrypted (``key_id``);
- the blind-index key: ``phone_bi``/``national_id_bi`` not under ``VNCOMPLY_BLIND_INDEX_KEY``
  (``bi_key_fp``) are recomputed from the decrypted values. Until the pass ends, lookups match
  under the previous key as well (``VNCOMPLY_BLIND_INDEX_KEY_PREVIOUS``, see ``keys.bi_keys``).

A run walks each table in primary-key order (keyset pagination), so it reads every row once, never
re-scans rows it already passed; each step is its own transaction and locks its rows with
``SKIP LOCKED``. Resumable by construction: a stopped run leaves every finished row marked with
the new ``key_id``/``bi_key_fp``; the next run passes over them without changing them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.identities.keys import bi_fingerprint, bi_key, ring
from vncomply.identities.models import Identity, PhoneVerification
from vncomply.kit.crypto import KeyRing, aad_for, blind_index, decrypt, reencrypt

_FIELDS = (
    ("full_name_enc", "full_name"),
    ("date_of_birth_enc", "date_of_birth"),
    ("phone_enc", "phone"),
    ("national_id_enc", "national_id"),
    ("guardian_enc", "guardian"),
)


@dataclass
class Rotation:
    """One pass over both tables. ``step`` until it returns ``scanned == 0``."""

    keyring: KeyRing = field(default_factory=ring)
    bikey: bytes = field(default_factory=bi_key)
    _identity_after: tuple[uuid.UUID, str] | None = None
    _identities_done: bool = False
    _verification_after: uuid.UUID | None = None

    @property
    def fingerprint(self) -> str:
        return bi_fingerprint(self.bikey)

    def _stale(self, model: type[Identity] | type[PhoneVerification]) -> Any:
        """Rows not under the active field key or not indexed under the current blind-index key."""
        return or_(
            model.key_id != self.keyring.active_key_id,
            model.bi_key_fp.is_distinct_from(self.fingerprint),
        )

    async def remaining(self, session: AsyncSession) -> int:
        """Rows not yet under the current keys (one count per table: for the progress bar)."""
        n_ident = await session.scalar(
            select(func.count()).select_from(Identity).where(self._stale(Identity))
        )
        n_otp = await session.scalar(
            select(func.count()).select_from(PhoneVerification).where(self._stale(PhoneVerification))
        )
        return int(n_ident or 0) + int(n_otp or 0)

    async def step(self, session: AsyncSession, batch_size: int = 500) -> tuple[int, int]:
        """Handle the next ``batch_size`` rows: (rows changed, rows scanned)."""
        if not self._identities_done:
            changed, scanned = await self._identities(session, batch_size)
            if scanned:
                return changed, scanned
            self._identities_done = True
        return await self._verifications(session, batch_size)

    async def _identities(self, session: AsyncSession, batch_size: int) -> tuple[int, int]:
        stmt = select(Identity).order_by(Identity.platform_id, Identity.account_id).limit(batch_size)
        if self._identity_after is not None:
            stmt = stmt.where(tuple_(Identity.platform_id, Identity.account_id) > self._identity_after)
        rows = (await session.scalars(stmt.with_for_update(skip_locked=True))).all()
        if not rows:
            return 0, 0
        self._identity_after = (rows[-1].platform_id, rows[-1].account_id)
        changed = sum(self._rotate_identity(r) for r in rows)
        await session.flush()
        return changed, len(rows)

    def _rotate_identity(self, row: Identity) -> bool:
        kr, fp = self.keyring, self.fingerprint
        if row.key_id == kr.active_key_id and row.bi_key_fp == fp:
            return False
        if row.bi_key_fp != fp:
            for blob, attr, name in (
                (row.phone_enc, "phone_bi", "phone"),
                (row.national_id_enc, "national_id_bi", "national_id"),
            ):
                if blob is not None:
                    value = decrypt(kr, blob, aad_for(row.platform_id, row.account_id, name))
                    setattr(row, attr, blind_index(self.bikey, row.platform_id, value))
            row.bi_key_fp = fp
        if row.key_id != kr.active_key_id:
            for attr, name in _FIELDS:
                blob = getattr(row, attr)
                if blob is not None:
                    aad = aad_for(row.platform_id, row.account_id, name)
                    setattr(row, attr, reencrypt(kr, blob, aad))
            row.key_id = kr.active_key_id
        # updated_at is left alone: the identity did not change, only how it is protected.
        return True

    async def _verifications(self, session: AsyncSession, batch_size: int) -> tuple[int, int]:
        stmt = select(PhoneVerification).order_by(PhoneVerification.id).limit(batch_size)
        if self._verification_after is not None:
            stmt = stmt.where(PhoneVerification.id > self._verification_after)
        rows = (await session.scalars(stmt.with_for_update(skip_locked=True))).all()
        if not rows:
            return 0, 0
        self._verification_after = rows[-1].id
        kr, fp = self.keyring, self.fingerprint
        changed = 0
        for pv in rows:
            if pv.key_id == kr.active_key_id and pv.bi_key_fp == fp:
                continue
            aad = aad_for(pv.platform_id, f"otp:{pv.id}", "phone")
            if pv.bi_key_fp != fp:
                pv.phone_bi = blind_index(self.bikey, pv.platform_id, decrypt(kr, pv.phone_enc, aad))
                pv.bi_key_fp = fp
            pv.phone_enc = reencrypt(kr, pv.phone_enc, aad)
            pv.key_id = kr.active_key_id
            changed += 1
        await session.flush()
        return changed, len(rows)
