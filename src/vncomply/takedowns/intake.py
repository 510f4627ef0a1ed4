"""Recording a takedown order: from an authority's key (electronic), or from an officer recording a
phone or written order on the authority's behalf. Unique per (authority, platform, reference
number); an identical resubmission returns the existing order (``vncomply.kit.references``).

The order, its audit record and its ``takedown.received`` event commit together or not at all.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.authorities import receipt
from vncomply.events.outbox import emit
from vncomply.kit import clock, references
from vncomply.kit.principal import Principal
from vncomply.kit.references import Created
from vncomply.rulebook import rules as rulebook
from vncomply.takedowns import deadline
from vncomply.takedowns.enums import ItemStatus, OrderStatus
from vncomply.takedowns.models import TakedownItem, TakedownOrder
from vncomply.takedowns.schemas import TakedownCreate
from vncomply.takedowns.service import WHAT, OrderView, view


async def create(session: AsyncSession, actor: Principal, body: TakedownCreate) -> Created[OrderView]:
    now = clock.now()
    parties = await receipt.resolve(session, actor, now, body, issued_at=body.issued_at)
    platform_id, authority_id, received_at = parties.platform_id, parties.authority_id, parties.received_at
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
