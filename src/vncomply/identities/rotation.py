"""Key rotation: bring every encrypted or blind-indexed value under the current keys.

Four tables hold them: identities, phone verifications, disclosure requests (a phone or ID
subject) and webhook endpoints (the signing secret and, during a secret rotation, the previous one).
Two keys are rotated in one pass, row by row:
- the field-encryption key: blobs not under the ring's active key are re-encrypted (``key_id``;
  webhook secrets have no such column and are found by the blob's key header, in SQL);
- the blind-index key: ``phone_bi``/``national_id_bi``/``subject_blind_index`` not under
  ``VNCOMPLY_BLIND_INDEX_KEY`` (``bi_key_fp``) are recomputed from the decrypted values. Until the
  pass ends, lookups match under the previous key as well (``VNCOMPLY_BLIND_INDEX_KEY_PREVIOUS``,
  see ``keys.bi_keys``).

A pass walks each table's stale rows in primary-key order (keyset pagination); each step is its own
transaction and locks its rows with ``SKIP LOCKED``, so a row a live request holds is passed over
rather than waited for. Those rows are why one pass is not the end: ``rotate_all`` counts what is
left after a pass and starts another (``restart``), and reports how many rows are still under an
old key when its passes run out; nobody may call a rotation done while that number is not 0.
Resumable by construction: a stopped run leaves every finished row under the new keys, and the
next run does not select them again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.disclosures import subjects
from vncomply.disclosures.enums import OPEN_STATUSES
from vncomply.disclosures.models import DisclosureRequest
from vncomply.events import signing
from vncomply.events.models import WebhookEndpoint
from vncomply.identities.keys import bi_fingerprint, bi_key, ring
from vncomply.identities.models import Identity, PhoneVerification
from vncomply.kit.crypto import KeyRing, aad_for, blind_index, decrypt, key_header, reencrypt
from vncomply.kit.db import session_scope

_FIELDS = (
    ("full_name_enc", "full_name"),
    ("date_of_birth_enc", "date_of_birth"),
    ("phone_enc", "phone"),
    ("national_id_enc", "national_id"),
    ("guardian_enc", "guardian"),
)
_MODELS: tuple[type[Any], ...] = (Identity, PhoneVerification, DisclosureRequest, WebhookEndpoint)


@dataclass
class Rotation:
    """One pass over the tables. ``step`` until it returns ``scanned == 0``; ``restart`` for
    another pass over what is left."""

    keyring: KeyRing = field(default_factory=ring)
    bikey: bytes = field(default_factory=bi_key)
    _table: int = 0
    _after: tuple[Any, ...] | None = None

    @property
    def fingerprint(self) -> str:
        return bi_fingerprint(self.bikey)

    def restart(self) -> None:
        """Back to the first row of the first table: rows skipped while locked get another go."""
        self._table, self._after = 0, None

    def _stale(self, model: type[Any]) -> ColumnElement[bool]:
        """Rows with a value not under the active field key or the current blind-index key."""
        if model is WebhookEndpoint:
            header = key_header(self.keyring.active_key_id)

            def other_key(col: Any) -> ColumnElement[bool]:
                return func.substring(col, 1, len(header)) != header

            return or_(
                other_key(WebhookEndpoint.secret_enc),
                WebhookEndpoint.previous_secret_enc.is_not(None)
                & other_key(WebhookEndpoint.previous_secret_enc),
            )
        if model is DisclosureRequest:
            # Requests recorded before revision 0016 have no blob to rotate (see ``legacy_open``).
            return DisclosureRequest.subject_enc.is_not(None) & or_(
                DisclosureRequest.key_id != self.keyring.active_key_id,
                DisclosureRequest.subject_bi_key_fp.is_distinct_from(self.fingerprint),
            )
        return or_(
            model.key_id != self.keyring.active_key_id,
            model.bi_key_fp.is_distinct_from(self.fingerprint),
        )

    async def remaining(self, session: AsyncSession) -> int:
        """Rows not yet under the current keys, in every table."""
        total = 0
        for model in _MODELS:
            n = await session.scalar(select(func.count()).select_from(model).where(self._stale(model)))
            total += int(n or 0)
        return total

    async def step(self, session: AsyncSession, batch_size: int = 500) -> tuple[int, int]:
        """Handle the next ``batch_size`` stale rows of this pass: (rows changed, rows scanned)."""
        while self._table < len(_MODELS):
            model = _MODELS[self._table]
            pk = list(model.__mapper__.primary_key)
            stmt = select(model).where(self._stale(model)).order_by(*pk).limit(batch_size)
            if self._after is not None:
                stmt = stmt.where(tuple_(*pk) > self._after)
            rows: Sequence[Any] = (await session.scalars(stmt.with_for_update(skip_locked=True))).all()
            if rows:
                self._after = tuple(getattr(rows[-1], c.key) for c in pk)
                changed = await self._rotate(session, model, rows)
                await session.flush()
                return changed, len(rows)
            self._table, self._after = self._table + 1, None
        return 0, 0

    async def _rotate(self, session: AsyncSession, model: type[Any], rows: Sequence[Any]) -> int:
        if model is Identity:
            return sum(self._rotate_identity(r) for r in rows)
        if model is PhoneVerification:
            return sum(self._rotate_verification(r) for r in rows)
        if model is DisclosureRequest:
            for req in rows:
                subjects.reindex(req, self.keyring, self.bikey)
            return len(rows)
        for ep in rows:
            await self._rotate_endpoint(session, ep)
        return len(rows)

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

    def _rotate_verification(self, pv: PhoneVerification) -> bool:
        kr, fp = self.keyring, self.fingerprint
        if pv.key_id == kr.active_key_id and pv.bi_key_fp == fp:
            return False
        aad = aad_for(pv.platform_id, f"otp:{pv.id}", "phone")
        if pv.bi_key_fp != fp:
            pv.phone_bi = blind_index(self.bikey, pv.platform_id, decrypt(kr, pv.phone_enc, aad))
            pv.bi_key_fp = fp
        pv.phone_enc = reencrypt(kr, pv.phone_enc, aad)
        pv.key_id = kr.active_key_id
        return True

    async def _rotate_endpoint(self, session: AsyncSession, ep: WebhookEndpoint) -> None:
        kr = self.keyring
        previous = ep.previous_secret_enc
        # A Core UPDATE naming updated_at keeps it: the endpoint did not change, only its sealing.
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == ep.id)
            .values(
                secret_enc=signing.reseal(kr, ep.secret_enc, ep.platform_id, ep.id),
                previous_secret_enc=(
                    signing.reseal(kr, previous, ep.platform_id, ep.id) if previous is not None else None
                ),
                updated_at=WebhookEndpoint.updated_at,
            )
            .execution_options(synchronize_session=False)
        )


async def legacy_open(session: AsyncSession) -> int:
    """Open disclosure requests whose phone or ID subject is kept only as the index it was stored
    with (recorded before revision 0016): the blind-index key they are under must stay configured
    until they are decided."""
    n = await session.scalar(
        select(func.count())
        .select_from(DisclosureRequest)
        .where(
            DisclosureRequest.subject_enc.is_(None),
            DisclosureRequest.subject_blind_index.is_not(None),
            DisclosureRequest.status.in_(OPEN_STATUSES),
        )
    )
    return int(n or 0)


async def _backoff(finished_pass: int) -> None:
    # Rows skipped were held by live transactions, which take milliseconds to seconds.
    await asyncio.sleep(min(2.0**finished_pass, 10.0))


async def rotate_all(
    batch_size: int = 500,
    passes: int = 5,
    *,
    on_step: Callable[[int], None] | None = None,
    between_passes: Callable[[int], Awaitable[None]] = _backoff,
    run: Rotation | None = None,
) -> int:
    """Rotate every row, each batch in its own transaction, passing again over rows that were
    locked the first time. Returns how many rows are still under an old key after ``passes``
    passes (0: done)."""
    run = run or Rotation()
    left = 0
    for n in range(1, passes + 1):
        while True:
            async with session_scope() as session:
                changed, scanned = await run.step(session, batch_size)
            if scanned == 0:
                break
            if on_step is not None:
                on_step(changed)
        async with session_scope() as session:
            left = await run.remaining(session)
        if left == 0 or n == passes:
            return left
        run.restart()
        await between_passes(n)
    return left
