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

from vncomply.identities.keys import ring
from vncomply.identities.models import Identity
from vncomply.kit.crypto import aad_for, decrypt

MATCH_LIMIT = 1000  # a phone or ID shared by more accounts than this is not a plausible subject


@dataclass(frozen=True, slots=True)
class SubjectKey:
    """A normalised subject: an account id, or the blind index of a phone or ID number."""

    type: str  # account_id | phone_number | national_id
    account_id: str | None = None
    blind_index: bytes | None = None


class IdentitySource(Protocol):
    async def match(
        self, session: AsyncSession, platform_id: uuid.UUID, subject: SubjectKey
    ) -> list[str]: ...

    async def records(
        self,
        session: AsyncSession,
        platform_id: uuid.UUID,
        account_ids: Sequence[str],
        fields: Sequence[str],
    ) -> list[dict[str, Any]]: ...


class RegistrySource:
    """The identity registry (``vncomply.identities``)."""

    async def match(self, session: AsyncSession, platform_id: uuid.UUID, subject: SubjectKey) -> list[str]:
        stmt = select(Identity.account_id).where(Identity.platform_id == platform_id)
        if subject.type == "account_id":
            stmt = stmt.where(Identity.account_id == subject.account_id)
        elif subject.type == "phone_number":
            stmt = stmt.where(Identity.phone_bi == subject.blind_index)
        elif subject.type == "national_id":
            stmt = stmt.where(Identity.national_id_bi == subject.blind_index)
        else:  # pragma: no cover - schemas admit only the three types
            raise ValueError(f"unknown subject type {subject.type!r}")
        rows = await session.scalars(stmt.order_by(Identity.account_id).limit(MATCH_LIMIT))
        return list(rows.all())

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


def _record(row: Identity, fields: Sequence[str]) -> dict[str, Any]:
    """Only the listed fields are read and decrypted; nothing else leaves this function."""
    kr = ring()

    def dec(field: str, blob: bytes | None) -> str | None:
        if blob is None:
            return None
        return decrypt(kr, blob, aad_for(row.platform_id, row.account_id, field))

    out: dict[str, Any] = {"account_id": row.account_id}
    for f in fields:
        if f == "full_name":
            out[f] = dec("full_name", row.full_name_enc)
        elif f == "date_of_birth":
            out[f] = dec("date_of_birth", row.date_of_birth_enc)
        elif f == "phone_number":
            out[f] = dec("phone", row.phone_enc)
        elif f == "national_id":
            out[f] = dec("national_id", row.national_id_enc)
        elif f == "verification":
            out[f] = {
                "method": row.method,
                "verified_at": row.verified_at.isoformat(),
                "reference": row.verification_reference,
            }
        elif f == "guardian":
            raw = dec("guardian", row.guardian_enc)
            out[f] = orjson.loads(raw) if raw is not None else None
        elif f == "account_status":
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
