"""Retention: the personal data of identities closed more than ``VNCOMPLY_RETENTION_MONTHS`` ago is
purged (the rulebook's ``retention`` rule says what that setting encodes and where it comes from).

Purging removes every ciphertext and blind index of the row (and the derived ``minor_until`` and the
verification reference); the row stays as a tombstone: status, method, dates and ``purged_at``, so
the account's history and the reports' counts survive. Audited per platform with counts only.
"""

from __future__ import annotations

import uuid
from calendar import monthrange
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.identities.enums import IdentityStatus
from vncomply.identities.models import Identity

BATCH = 1000
# Everything that is, or is derived from, the person's data.
PURGED: dict[str, Any] = {
    "full_name_enc": None,
    "date_of_birth_enc": None,
    "phone_enc": None,
    "national_id_enc": None,
    "guardian_enc": None,
    "phone_bi": None,
    "national_id_bi": None,
    "minor_until": None,
    "verification_reference": None,
}


def months_before(t: datetime, months: int) -> datetime:
    """``t`` moved back by calendar months (31 March minus 1 month = 28/29 February)."""
    y, m = divmod(t.year * 12 + (t.month - 1) - months, 12)
    return t.replace(year=y, month=m + 1, day=min(t.day, monthrange(y, m + 1)[1]))


def _due(now: datetime, months: int) -> Any:
    return (
        Identity.status == IdentityStatus.closed,
        Identity.closed_at < months_before(now, months),
        Identity.purged_at.is_(None),
    )


async def due(session: AsyncSession, now: datetime, months: int) -> int:
    """How many identities a purge at ``now`` would purge (dry run, progress bar)."""
    n = await session.scalar(select(func.count()).select_from(Identity).where(*_due(now, months)))
    return int(n or 0)


async def purge_batch(session: AsyncSession, now: datetime, months: int, batch: int = BATCH) -> int:
    """Purge up to ``batch`` due identities, oldest closure first; returns how many."""
    doomed = (
        select(Identity.platform_id, Identity.account_id)
        .where(*_due(now, months))
        .order_by(Identity.closed_at)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(
        update(Identity)
        .where(tuple_(Identity.platform_id, Identity.account_id).in_(doomed))
        .values(**PURGED, purged_at=now, updated_at=now)
        .returning(Identity.platform_id)
        .execution_options(synchronize_session=False)
    )
    per_platform: Counter[uuid.UUID] = Counter(result.scalars().all())
    cutoff = months_before(now, months).isoformat()
    for platform_id, count in sorted(per_platform.items()):
        audit.record(
            session,
            None,
            "identity.retention_purged",
            "identity",
            "retention",
            platform_id,
            {"count": count, "closed_before": cutoff, "retention_months": months},
        )
    return sum(per_platform.values())
