"""Disclosure requests: creation and reads (docs/disclosures.md).

The rest of the domain: the subject's normalisation in ``vncomply.disclosures.subjects``, officer
review (the state machine, the two-officer rule) in ``vncomply.disclosures.review``, the package in
``vncomply.disclosures.package``, and the clock in ``vncomply.disclosures.deadline``.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, not_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.authorities import receipt
from vncomply.disclosures import deadline as dclock
from vncomply.disclosures.enums import OPEN_STATUSES, RELEASED_STATUSES, Status
from vncomply.disclosures.enums import ordered_fields as _ordered
from vncomply.disclosures.identity_source import get_source
from vncomply.disclosures.models import DisclosureRequest
from vncomply.disclosures.review import RESOURCE, WHAT
from vncomply.disclosures.schemas import (
    DisclosureRequestCreate,
    DisclosureRequestOut,
    FirstApprovalOut,
    SubjectOut,
)
from vncomply.disclosures.subjects import content, payload_hashes, subject_key
from vncomply.events import outbox
from vncomply.kit import clock, references
from vncomply.kit.pagination import time_id_cursor
from vncomply.kit.principal import Principal, Role
from vncomply.kit.references import Created
from vncomply.kit.tenancy import get_scoped, scoped
from vncomply.rulebook import rules as rulebook
from vncomply.rulebook.schemas import RuleRef

# --- creation ---


async def create(
    session: AsyncSession, actor: Principal, body: DisclosureRequestCreate
) -> Created[DisclosureRequest]:
    """Record a request — from the authority's key, or recorded by an officer when it came by phone
    or in writing (``vncomply.authorities.receipt``: the clock then runs from its receipt) —,
    unique per (authority, platform, reference_no): a retry with the same payload returns the
    existing one; another payload is a 409 (``vncomply.kit.references``)."""
    now = clock.now()
    parties = await receipt.resolve(session, actor, now, body, what="disclosure request")
    platform_id, authority_id = parties.platform_id, parties.authority_id
    request_id = uuid.uuid4()
    subject = subject_key(platform_id, request_id, body.subject)
    key = subject.key
    fields = _ordered(body.fields)
    canonical = content(platform_id, body.legal_basis, body.reason, body.urgency.value, fields)
    digest, *earlier = payload_hashes(canonical, key)
    ref = references.Reference(authority_id, platform_id, body.reference_no)
    # A request recorded before a blind-index key change is fingerprinted under the previous key.
    prior = await references.claim(session, DisclosureRequest, ref, digest, WHAT, also=earlier)
    if prior is not None:
        return Created(prior, created=False)

    rule, due = rulebook.deadline(f"disclosure.{body.urgency.value}", parties.received_at)
    matches = await get_source().match(session, platform_id, key)
    req = DisclosureRequest(
        id=request_id,
        platform_id=platform_id,
        authority_id=authority_id,
        requested_by_key_id=actor.key_id,
        reference_no=body.reference_no,
        legal_basis=body.legal_basis,
        reason=body.reason,
        urgency=body.urgency.value,
        subject_type=key.type,
        subject_account_id=key.account_id,
        subject_blind_index=key.blind_index,
        subject_masked=subject.masked,
        subject_enc=subject.sealed,
        key_id=subject.key_id,
        subject_bi_key_fp=subject.bi_key_fp,
        fields=fields,
        payload_hash=digest,
        status=Status.pending_review.value,
        received_at=parties.received_at,
        channel=parties.channel,
        due_at=due,
        rule_id=rule.id,
        rule_hours=rule.params.get("hours"),
        matched_account_ids=matches,
        reminders_sent=0,
        package_fetches=0,
    )
    req.next_action_at = dclock.next_action(req)
    session.add(req)
    await session.flush()

    audit.record(
        session, actor, "disclosure.received", RESOURCE, req.id, req.platform_id,
        {"reference_no": req.reference_no, "urgency": req.urgency, "subject_type": req.subject_type,
         "fields": req.fields, "rule_id": req.rule_id, "channel": req.channel.value,
         "received_at": req.received_at.isoformat()},
    )  # fmt: skip
    await outbox.emit(
        session,
        req.platform_id,
        "disclosure.received",
        {
            "request_id": str(req.id),
            "reference_no": req.reference_no,
            "authority_id": str(req.authority_id),
            "urgency": req.urgency,
            "fields": req.fields,
            "subject_type": req.subject_type,
            "received_at": req.received_at.isoformat(),
            "channel": req.channel.value,
            "due_at": req.due_at.isoformat() if req.due_at else None,
        },
    )
    return Created(req, created=True)


# --- reads ---


async def get(session: AsyncSession, actor: Principal, request_id: uuid.UUID) -> DisclosureRequest:
    return await get_scoped(session, DisclosureRequest, request_id, actor, WHAT)


async def list_requests(
    session: AsyncSession,
    actor: Principal,
    *,
    statuses: list[Status] | None,
    overdue: bool | None,
    platform_id: uuid.UUID | None,
    cursor: list[Any] | None,
    limit: int,
) -> list[DisclosureRequest]:
    """Oldest received first (the most pressing open request leads), keyset-paginated."""
    m = DisclosureRequest
    stmt = scoped(select(m), m, actor)
    if statuses:
        stmt = stmt.where(m.status.in_(statuses))
    if overdue is not None:
        late = and_(m.status.in_(OPEN_STATUSES), m.due_at.is_not(None), m.due_at <= clock.now())
        stmt = stmt.where(late if overdue else not_(late))
    if platform_id is not None:
        stmt = stmt.where(m.platform_id == platform_id)
    if cursor:
        stmt = stmt.where(tuple_(m.received_at, m.id) > time_id_cursor(cursor))
    stmt = stmt.order_by(m.received_at, m.id).limit(limit)
    return list((await session.scalars(stmt)).all())


def to_out(req: DisclosureRequest, viewer: Principal) -> DisclosureRequestOut:
    now = clock.now()
    is_open = req.status in OPEN_STATUSES
    staff = viewer.role in (Role.officer, Role.admin, Role.platform)
    first = None
    if req.first_decision and req.first_decided_at:
        first = FirstApprovalOut(
            decision=req.first_decision,
            fields=list(req.first_fields or []),
            reason=req.first_reason,
            officer_key_id=req.first_officer_key_id if staff else None,
            decided_at=req.first_decided_at,
        )
    return DisclosureRequestOut(
        id=req.id,
        platform_id=req.platform_id,
        authority_id=req.authority_id,
        reference_no=req.reference_no,
        legal_basis=req.legal_basis,
        reason=req.reason,
        urgency=req.urgency,
        subject=SubjectOut(
            type=req.subject_type, account_id=req.subject_account_id, masked=req.subject_masked
        ),
        fields=list(req.fields),
        status=req.status,
        received_at=req.received_at,
        channel=req.channel,
        due_at=req.due_at,
        rule=RuleRef(id=req.rule_id, hours=req.rule_hours),
        overdue=dclock.is_overdue(req, now),
        remaining_seconds=(int((req.due_at - now).total_seconds()) if is_open and req.due_at else None),
        matched_account_ids=list(req.matched_account_ids) if staff else None,
        first_approval=first,
        decision=req.decision,
        decision_reason=req.decision_reason,
        approved_fields=list(req.approved_fields) if req.approved_fields is not None else None,
        decided_at=req.decided_at,
        answered_on_time=(req.decided_at <= req.due_at if req.decided_at and req.due_at else None),
        package_expires_at=req.package_expires_at,
        package_available=bool(
            req.status in RELEASED_STATUSES and req.package_expires_at and now < req.package_expires_at
        ),
        notify_user_after=req.notify_user_after,
        created_at=req.created_at,
        updated_at=req.updated_at,
    )
