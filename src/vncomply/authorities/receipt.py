"""How an authority's order reaches a platform — one rule for takedown orders, block orders and
disclosure requests.

An order arrives electronically, submitted with the authority's own key for a platform it may
address; or by phone or letter, and the platform's compliance officer records it on the authority's
behalf with the officer's key (``authority_id``, ``channel`` written or phone, optional
``received_at`` at most 7 days back). Either way the order's clock runs from ``received_at`` and the
audit trail names the key that recorded it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.authorities.enums import Channel
from vncomply.authorities.service import addressable
from vncomply.kit.errors import Checks
from vncomply.kit.principal import Principal, Role

# How far back an officer may date an order that arrived by phone or letter.
MAX_BACKDATE = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Receipt:
    platform_id: uuid.UUID
    authority_id: uuid.UUID
    received_at: datetime
    channel: Channel


class Addressed(Protocol):
    """The fields every order's body carries for this rule (takedown, block, disclosure)."""

    @property
    def platform_id(self) -> uuid.UUID | None: ...
    @property
    def authority_id(self) -> uuid.UUID | None: ...
    @property
    def channel(self) -> Channel | None: ...
    @property
    def received_at(self) -> datetime | None: ...


async def resolve(
    session: AsyncSession,
    actor: Principal,
    now: datetime,
    body: Addressed,
    *,
    issued_at: datetime | None = None,
    what: str = "order",
) -> Receipt:
    """Who sent the order to whom, how and when, checked against the caller's key: one 422 listing
    every problem of these fields; a platform the authority may not address is a 404."""
    platform_id, authority_id = body.platform_id, body.authority_id
    channel, received_at = body.channel, body.received_at
    checks = Checks()
    if actor.role is Role.authority:
        own = actor.require_authority()
        if platform_id is None:
            checks.add(
                "platform_id",
                f"`platform_id` is required: the platform this {what} is addressed to",
                "missing",
            )
        if authority_id is not None and authority_id != own:
            checks.add(
                "authority_id", f"Authority keys submit {what}s in their own name; omit `authority_id`"
            )
        if received_at is not None:
            checks.add(
                "received_at",
                "`received_at` is set by vncomply on receipt; only an officer "
                f"recording a phone or written {what} may send it",
            )
        _issued_before(checks, issued_at, now)
        checks.raise_if_any()
        assert platform_id is not None
        await addressable(session, own, platform_id)
        return Receipt(platform_id, own, now, channel or Channel.electronic)
    own_platform = actor.require_platform()
    if authority_id is None:
        checks.add(
            "authority_id", f"`authority_id` is required: the authority that gave the {what}", "missing"
        )
    if platform_id is not None and platform_id != own_platform:
        checks.add("platform_id", f"Officer keys record {what}s for their own platform; omit `platform_id`")
    if channel is None or channel is Channel.electronic:
        checks.add(
            "channel",
            f"Officers record {what}s received by `phone` or `written` (send `channel`); electronic "
            f"{what}s are submitted with the authority's own key",
        )
    at = received_at or now
    if at > now:
        checks.add("received_at", "`received_at` cannot be in the future")
    elif at < now - MAX_BACKDATE:
        checks.add("received_at", "`received_at` can be at most 7 days back")
    _issued_before(checks, issued_at, at)
    checks.raise_if_any()
    assert authority_id is not None
    assert channel is not None
    await addressable(session, authority_id, own_platform)
    return Receipt(own_platform, authority_id, at, channel)


def _issued_before(checks: Checks, issued_at: datetime | None, received_at: datetime) -> None:
    if issued_at is not None and issued_at > received_at:
        checks.add("issued_at", "`issued_at` cannot be after the order was received")
