"""The one place disclosures touch the identity registry: matching a subject and assembling the
approved fields of matched accounts. Kept behind a small interface so the review logic and its tests
do not depend on how identities are stored.

Matching is always within one platform: blind indexes are derived per platform, and every query here
is filtered by ``platform_id`` as well, so another tenant's identity can never match.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.disclosures.enums import DisclosureField, SubjectType
from vncomply.identities.keys import bi_keys, ring
from vncomply.identities.models import Identity
from vncomply.kit.crypto import aad_for, blind_index, decrypt

MATCH_LIMIT = 1000  # a phone or ID shared by more accounts than this is not a plausible subject


@dataclass(frozen=True, slots=True)
class SubjectKey:
    """A normalised subject: an account id, or the blind index of a phone or ID number (under the
    current key) and, during a blind-index key rotation, its indexes under the other keys in use."""

    type: SubjectType
    account_id: str | None = None
    blind_index: bytes | None = None
    alternates: tuple[bytes, ...] = ()

    @property
    def indexes(self) -> tuple[bytes, ...]:
        return (self.blind_index, *self.alternates) if self.blind_index is not None else self.alternates


class IdentitySource(Protocol):
    async def match(
        self,
        session: AsyncSession,
        platform_id: uuid.UUID,
        subject: SubjectKey,
        candidates: Sequence[str] = (),
    ) -> list[str]: ...

    async def records(
        self,
        session: AsyncSession,
        platform_id: uuid.UUID,
        account_ids: Sequence[str],
        fields: Sequence[str],
    ) -> list[dict[str, Any]]: ...


# Where a phone or ID subject is indexed, and the encrypted value it is indexed from.
_INDEXED = {
    SubjectType.phone_number: (Identity.phone_bi, "phone_enc", "phone"),
    SubjectType.national_id: (Identity.national_id_bi, "national_id_enc", "national_id"),
}


class RegistrySource:
    """The identity registry (``vncomply.identities``)."""

    async def match(
        self,
        session: AsyncSession,
        platform_id: uuid.UUID,
        subject: SubjectKey,
        candidates: Sequence[str] = (),
    ) -> list[str]:
        """Accounts whose identity carries the subject. ``candidates`` are accounts that matched
        before (the request's preview): one not found by the index is checked by its value, so a
        row still indexed under another blind-index key than the subject's (a rotation between the
        request and now, either way round) is not missed."""
        stmt = select(Identity.account_id).where(Identity.platform_id == platform_id)
        if subject.type is SubjectType.account_id:
            stmt = stmt.where(Identity.account_id == subject.account_id)
            return list((await session.scalars(stmt)).all())
        column, _, _ = _INDEXED[subject.type]
        rows = await session.scalars(
            stmt.where(column.in_(subject.indexes)).order_by(Identity.account_id).limit(MATCH_LIMIT)
        )
        found = list(rows.all())
        missed = sorted(set(candidates) - set(found))
        if missed and len(found) < MATCH_LIMIT:
            found = sorted({*found, *await _by_value(session, platform_id, subject, missed)})
        return found[:MATCH_LIMIT]

    async def records(
        self,
        session: AsyncSession,
        platform_id: uuid.UUID,
        account_ids: Sequence[str],
        fields: Sequence[str],
    ) -> list[dict[str, Any]]:
        if not account_ids:
            return []
        rows = (
            await session.scalars(
                select(Identity)
                .where(Identity.platform_id == platform_id, Identity.account_id.in_(account_ids))
                .order_by(Identity.account_id)
            )
        ).all()
        return [_record(row, fields) for row in rows]


async def _by_value(
    session: AsyncSession, platform_id: uuid.UUID, subject: SubjectKey, account_ids: Sequence[str]
) -> list[str]:
    """Those of ``account_ids`` whose phone / ID number, re-indexed under every blind-index key in
    use, gives one of the subject's indexes. Decrypts only that one field of those few rows."""
    _, attr, name = _INDEXED[subject.type]
    wanted = set(subject.indexes)
    rows = (
        await session.scalars(
            select(Identity).where(Identity.platform_id == platform_id, Identity.account_id.in_(account_ids))
        )
    ).all()
    kr, keys = ring(), bi_keys()
    out = []
    for row in rows:
        blob = getattr(row, attr)
        if blob is None:
            continue
        value = decrypt(kr, blob, aad_for(platform_id, row.account_id, name))
        if any(blind_index(k, platform_id, value) in wanted for k in keys):
            out.append(row.account_id)
    return out


def _record(row: Identity, fields: Sequence[str]) -> dict[str, Any]:
    """Only the listed fields are read and decrypted; nothing else leaves this function."""
    kr = ring()

    def dec(field: str, blob: bytes | None) -> str | None:
        if blob is None:
            return None
        return decrypt(kr, blob, aad_for(row.platform_id, row.account_id, field))

    out: dict[str, Any] = {"account_id": row.account_id}
    for f in fields:
        if f == DisclosureField.full_name:
            out[f] = dec("full_name", row.full_name_enc)
        elif f == DisclosureField.date_of_birth:
            out[f] = dec("date_of_birth", row.date_of_birth_enc)
        elif f == DisclosureField.phone_number:
            out[f] = dec("phone", row.phone_enc)
        elif f == DisclosureField.national_id:
            out[f] = dec("national_id", row.national_id_enc)
        elif f == DisclosureField.verification:
            out[f] = {
                "method": row.method,
                "verified_at": row.verified_at.isoformat(),
                "reference": row.verification_reference,
            }
        elif f == DisclosureField.guardian:
            raw = dec("guardian", row.guardian_enc)
            out[f] = orjson.loads(raw) if raw is not None else None
        elif f == DisclosureField.account_status:
            out[f] = {
                "status": row.status,
                "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
                "closed_at": row.closed_at.isoformat() if row.closed_at else None,
            }
        else:  # pragma: no cover - approved fields are validated against the enum
            raise ValueError(f"unknown disclosure field {f!r}")
    return out


_source: IdentitySource = RegistrySource()


def get_source() -> IdentitySource:
    return _source


def use_source(source: IdentitySource | None) -> None:
    """Swap the source (tests); ``None`` restores the registry."""
    global _source
    _source = source if source is not None else RegistrySource()
