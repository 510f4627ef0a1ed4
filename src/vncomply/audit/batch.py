"""Many system-actor audit rows in one statement, with ``service.record``'s contract (in the
caller's transaction; the chain is sealed later by the seal task), for transitions that fire
thousands of rows per sweep. See ``vncomply.events.batch`` for why rows travel as one JSON document.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.kit import clock
from vncomply.kit.db import json_rows


@dataclass(frozen=True, slots=True)
class PendingAudit:
    action: str
    resource_type: str
    resource_id: object
    platform_id: uuid.UUID | None
    details: dict[str, Any]


_AUDIT = text(
    """
    INSERT INTO audit_events (at, actor_role, action, resource_type, resource_id, platform_id,
                              details)
    SELECT :at, 'system', r.action, r.resource_type, r.resource_id, r.platform_id, r.details
    FROM jsonb_to_recordset(CAST(:rows AS jsonb))
         AS r(action text, resource_type text, resource_id text, platform_id uuid, details jsonb)
    """
)


async def record_many(session: AsyncSession, pending: Sequence[PendingAudit]) -> None:
    """System-actor audit rows for many resources (``details`` must hold no plaintext PII)."""
    if not pending:
        return
    await session.execute(
        _AUDIT,
        {
            "at": clock.now(),
            "rows": json_rows(
                [
                    {
                        "action": a.action,
                        "resource_type": a.resource_type,
                        "resource_id": str(a.resource_id),
                        "platform_id": a.platform_id,
                        "details": a.details,
                    }
                    for a in pending
                ]
            ),
        },
    )
