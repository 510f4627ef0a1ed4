"""Recording a takedown order: from an authority's key (electronic), or from an officer recording a
phone or written order on the authority's behalf. Unique per (authority, platform, reference
number); an identical resubmission returns the existing order (``vncomply.kit.references``).

The order, its audit record and its ``takedown.received`` event commit together or not at all.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.authorities.service import addressable
from vncomply.events.outbox import emit
from vncomply.kit import clock, references
from vncomply.kit.errors import Checks
from vncomply.kit.principal import Principal, Role
from vncomply.kit.references import Created
from vncomply.rulebook import rules as rulebook
from vncomply.takedowns import deadline
from vncomply.takedowns.enums import Channel, ItemStatus, OrderStatus
from vncomply.takedowns.models import TakedownItem, TakedownOrder
from vncomply.takedowns.schemas import TakedownCreate
from vncomply.takedowns.service import WHAT, OrderView, view

MAX_BACKDATE = timedelta(days=7)


async def _resolve_parties(
    session: AsyncSession, actor: Principal, body: TakedownCreate, now: datetime
) -> tuple[uuid.UUID, uuid.UUID, datetime]:
    """(platform, authority, received_at) for this submission, checked against the caller's key;
    every problem of the body is reported at once (one 422)."""
    checks = Checks()
    if actor.role is Role.authority:
        authority_id = actor.require_authority()
        if body.platform_id is None:
            checks.add(
                "platform_id", "`platform_id` is required: the platform this order is addressed to", "missing"
            )
        if body.authority_id is not None and body.authority_id != authority_id:
            checks.add("authority_id", "Authority keys submit orders in their own name; omit `authority_id`")
        if body.received_at is not None:
            checks.add(
                "received_at",
                "`received_at` is set by vncomply on receipt; only an officer recording a phone or "
                "written order may send it",
            )
        received_at = now
    else:
        platform_id = actor.require_platform()
        if body.authority_id is None:
            checks.add(
                "authority_id", "`authority_id` is required: the authority that gave the order", "missing"
            )
        if body.platform_id is not None and body.platform_id != platform_id:
            checks.add("platform_id", "Officer keys record orders for their own platform; omit `platform_id`")
        if body.channel is Channel.electronic:
            checks.add(
                "channel",
                "Officers record orders received by `phone` or `written`; electronic orders are "
                "submitted with the authority's own key",
            )
        received_at = body.received_at or now
        if received_at > now:
            checks.add("received_at", "`received_at` cannot be in the future")
        elif received_at < now - MAX_BACKDATE:
            checks.add("received_at", "`received_at` can be at most 7 days back")
    if body.issued_at is not None and body.issued_at > received_at:
        checks.add("issued_at", "`issued_at` cannot be after the order was received")
    checks.raise_if_any()
    if actor.role is Role.authority:
        assert body.platform_id is not None
        await addressable(session, authority_id, body.platform_id)
        return body.platform_id, authority_id, received_at
    assert body.authority_id is not None
    await addressable(session, body.authority_id, platform_id)
    return platform_id, body.authority_id, received_at


async def create(session: AsyncSession, actor: Principal, body: TakedownCreate) -> Created[OrderView]:
    now = clock.now()
    platform_id, authority_id, received_at = await _resolve_parties(session, actor, body, now)
    digest = references.fingerprint(body, platform_id=platform_id, authority_id=authority_id)
    ref = references.Reference(authority_id, platform_id, body.reference_no)
    prior = await references.claim(session, TakedownOrder, ref, digest, WHAT)
    if prior is not None:
        return Created(await view(session, prior), created=False)

    rule, due_at = rulebook.deadline(f"takedown.{body.urgency.value}", received_at)
    if due_at is None:  # every takedown rule sets hours; guard a future rulebook mistake
        raise RuntimeError(f"rule {rule.id} sets no takedown deadline")
    order = TakedownOrder(
        id=uuid.uuid4(),
        platform_id=platform_id,
        authority_id=authority_id,
        reference_no=body.reference_no,
        payload_hash=digest,
        channel=body.channel,
        urgency=body.urgency,
        category=body.category,
        legal_basis=body.legal_basis,
        description=body.description,
        issued_at=body.issued_at,
        received_at=received_at,
        rule_id=rule.id,
        rule_hours=int(rule.params["hours"]),
        due_at=due_at,
        status=OrderStatus.open,
        reminders_sent=0,
        items_total=len(body.items),
        items_pending=len(body.items),
        items_backdated=0,
        created_by_key_id=actor.key_id,
        created_at=now,
        updated_at=now,
    )
    order.next_action_at = deadline.next_action(order)
    items = [
        TakedownItem(
            id=uuid.uuid4(),
            order_id=order.id,
            position=n,
            content_url=i.content_url,
            content_id=i.content_id,
            account_id=i.account_id,
            subject_type=i.subject_type,
            note=i.note,
            status=ItemStatus.pending,
            created_at=now,
            updated_at=now,
        )
        for n, i in enumerate(body.items)
    ]
    session.add(order)
    await session.flush()  # the order row first: the items reference it
    session.add_all(items)
    await session.flush()

    audit.record(
        session,
        actor,
        "takedown.created",
        "takedown_order",
        order.id,
        platform_id,
        {
            "reference_no": order.reference_no,
            "authority_id": str(authority_id),
            "urgency": order.urgency,
            "rule_id": order.rule_id,
            "items": len(items),
            "channel": order.channel,
        },
    )
    await emit(
        session,
        platform_id,
        "takedown.received",
        {
            "order_id": str(order.id),
            "authority_id": str(authority_id),
            "reference_no": order.reference_no,
            "urgency": order.urgency,
            "category": order.category,
            "channel": order.channel,
            "received_at": received_at.isoformat(),
            "due_at": due_at.isoformat(),
            "rule": {"id": rule.id, "hours": order.rule_hours},
            "items": len(items),
        },
    )
    return Created(OrderView(order, items), created=True)
