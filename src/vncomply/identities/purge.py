"""Retention of phone verifications: a code's row (the encrypted number, its blind index, the code
hash) is kept only while it can still matter, then deleted.

It matters while the code can be confirmed (5 minutes), while it counts toward the resend limit
(15 minutes) and while the platform may still name it as an identity's ``verification.reference``
after confirming: ``VNCOMPLY_PHONE_VERIFICATION_RETENTION_SECONDS`` after it expired (default 24 h).
A reference to a purged verification is no longer recognised as ours, like any reference the
platform made with its own OTP.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.config import get_settings
from vncomply.identities.models import PhoneVerification
from vncomply.kit.db import delete_batch

PURGE_BATCH = 5000


async def purge_spent(session: AsyncSession, now: datetime, batch: int = PURGE_BATCH) -> int:
    """Delete up to ``batch`` verifications that expired more than the retention period ago."""
    keep = timedelta(seconds=get_settings().phone_verification_retention_seconds)
    return await delete_batch(session, PhoneVerification, PhoneVerification.expires_at < now - keep, batch)
