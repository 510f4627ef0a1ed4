"""Officer review of a disclosure request (docs/disclosures.md).

State machine::

    pending_review ──approve/partial──▶ approved | partially_approved | no_data
         │    └──approve/partial (two-officer platform)──▶ awaiting_second_approval
         │                                                   │ another officer: approve/partial
         │                                                   ▼
         │                                approved | partially_approved | no_data
         └──reject (either stage)──▶ rejected

Every decided state is final. Matches are previewed at creation and frozen at the final approval.

Four eyes are two people: on a platform that requires two officers, the officers are told apart by
the person their keys name (``ApiKey.holder``), not by the keys, so one person holding two keys
cannot approve twice. An approval there needs a key that names its holder.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.auth import service as auth
from vncomply.config import get_settings
from vncomply.disclosures import deadline as dclock
from vncomply.disclosures import subjects
from vncomply.disclosures.enums import OPEN_STATUSES, RELEASED_STATUSES, Decision, Status, ordered_fields
from vncomply.disclosures.identity_source import get_source
from vncomply.disclosures.models import DisclosureRequest
from vncomply.disclosures.schemas import DecisionIn
from vncomply.events import outbox
from vncomply.kit import clock
from vncomply.kit.errors import Forbidden, IllegalTransition, InvalidInput
from vncomply.kit.principal import Principal
from vncomply.kit.tenancy import get_scoped
from vncomply.platforms.models import Platform

RESOURCE = dclock.RESOURCE
WHAT = "disclosure request"


def _check_decision(req: DisclosureRequest, body: DecisionIn) -> list[str] | None:
    """The fields this decision approves (None for a rejection), or a 422 naming the problem."""
    requested = list(req.fields)
    if body.decision is Decision.reject:
        if body.fields is not None:
            raise InvalidInput("a rejection approves no fields; omit `fields`", field="fields")
        if body.notify_user_after is not None:
            raise InvalidInput(
                "nothing is disclosed on a rejection, so there is no user notice to schedule; "
                "omit `notify_user_after`",
                field="notify_user_after",
            )
        if not body.reason:
            raise InvalidInput("a rejection needs a `reason`", field="reason")
        return None
    if body.decision is Decision.approve:
        if body.fields is not None and set(map(str, body.fields)) != set(requested):
            raise InvalidInput(
                "`approve` releases every requested field; to release fewer use "
                "`partially_approve` with `fields` and a `reason`",
                field="fields",
            )
        return requested
    # partially_approve
    if not body.fields:
        raise InvalidInput(
            "`partially_approve` needs `fields`: a strict subset of the requested fields "
            f"({', '.join(requested)})",
            field="fields",
        )
    chosen = ordered_fields(body.fields)
    if len(chosen) != len(body.fields):
        raise InvalidInput("`fields` must not repeat a field", field="fields")
    outside = [f for f in chosen if f not in requested]
    if outside:
        raise InvalidInput(
            f"`fields` may only contain requested fields; not requested: {', '.join(outside)}",
            field="fields",
        )
    if len(chosen) == len(requested):
        raise InvalidInput(
            "`partially_approve` must leave out at least one requested field; to release them "
            "all use `approve`",
            field="fields",
        )
    if not body.reason:
        raise InvalidInput("a partial approval needs a `reason`", field="reason")
    return chosen


async def _holder(session: AsyncSession, actor: Principal) -> str:
    """The person holding the actor's key; a key without one cannot take part in four eyes."""
    holder = await auth.holder_of(session, actor.key_id)
    if holder is None:
        raise Forbidden(
            "This platform requires two different officers to approve a disclosure, so an officer "
            "key must name the person who holds it, and this key names no one; ask an admin for an "
            "officer key issued with `holder`."
        )
    return holder


async def _check_second_officer(
    session: AsyncSession, actor: Principal, req: DisclosureRequest, approves: bool
) -> None:
    """The second decision on a two-officer platform is another person's than the first."""
    state = req.status.value
    if req.first_officer_key_id == actor.key_id:
        raise IllegalTransition(
            "This platform requires two different officers to approve a disclosure; this key "
            "made the first approval, so another officer's key must confirm or reject it.",
            current_state=state,
        )
    assert req.first_officer_key_id is not None  # set with the first approval
    first = await auth.holder_of(session, req.first_officer_key_id)
    mine = await _holder(session, actor) if approves else await auth.holder_of(session, actor.key_id)
    if first is not None and mine is not None and auth.same_person(first, mine):
        raise IllegalTransition(
            "This platform requires two different officers to approve a disclosure; the first "
            "approval was made by the person who holds this key (with another key), so another "
            "officer must confirm or reject it.",
            current_state=state,
        )
    if approves and first is None:
        raise IllegalTransition(
            "The first approval was made with an officer key that names no holder, so a second "
            "approval cannot be shown to come from another person; reject the request (the "
            "authority may send it again) or have it approved anew.",
            current_state=state,
        )


async def decide(
    session: AsyncSession, actor: Principal, request_id: uuid.UUID, body: DecisionIn
) -> DisclosureRequest:
    req = await get_scoped(session, DisclosureRequest, request_id, actor, WHAT, for_update=True)
    if req.status not in OPEN_STATUSES:
        raise IllegalTransition(
            f"This request is already decided ({req.status}); a decision is final.",
            current_state=req.status.value,
        )
    fields = _check_decision(req, body)
    now = clock.now()
    second = req.status is Status.awaiting_second_approval
    if second:
        await _check_second_officer(session, actor, req, approves=fields is not None)
    if second and fields is not None:
        first = list(req.first_fields or [])
        if body.decision is Decision.approve:
            fields = first  # confirming the first approval releases exactly what it approved
        elif any(f not in first for f in fields):
            raise InvalidInput(
                f"the second officer may only narrow the first approval; approved so far: {', '.join(first)}",
                field="fields",
            )
    # A deadline that passed without a sweep is still recorded as breached, before the answer.
    await dclock.transition(session, req, now)

    if fields is None:
        await _finish(session, actor, req, Status.rejected, body, None, [], now)
        return req
    key = subjects.key_of(req)
    matches = await get_source().match(session, req.platform_id, key, req.matched_account_ids)
    if not matches:
        await _finish(session, actor, req, Status.no_data, body, fields, [], now)
        return req
    platform = await session.get(Platform, req.platform_id)
    two_officers = bool(platform and platform.disclosure_two_officers)
    if two_officers and not second:
        await _holder(session, actor)
        req.status = Status.awaiting_second_approval
        req.first_decision = body.decision
        req.first_fields = fields
        req.first_reason = body.reason
        req.first_officer_key_id = actor.key_id
        req.first_decided_at = now
        req.matched_account_ids = matches
        if body.notify_user_after is not None:
            req.notify_user_after = body.notify_user_after
        req.next_action_at = dclock.next_action(req)
        audit.record(
            session, actor, "disclosure.first_approval", RESOURCE, req.id, req.platform_id,
            {"decision": body.decision.value, "fields": fields, "reason": body.reason},
        )  # fmt: skip
        return req
    full = set(fields) == set(req.fields)
    status = Status.approved if full else Status.partially_approved
    await _finish(session, actor, req, status, body, fields, matches, now)
    return req


async def _finish(
    session: AsyncSession,
    actor: Principal,
    req: DisclosureRequest,
    status: Status,
    body: DecisionIn,
    fields: list[str] | None,
    matches: list[str],
    now: datetime,
) -> None:
    released = status in RELEASED_STATUSES
    req.status = status
    req.decision = body.decision
    req.decision_reason = body.reason
    req.approved_fields = fields if released else None
    req.matched_account_ids = matches if released else []
    req.decided_by_key_id = actor.key_id
    req.decided_at = now
    if released:
        req.package_expires_at = now + timedelta(days=get_settings().disclosure_package_days)
        if body.notify_user_after is not None:
            req.notify_user_after = body.notify_user_after
    else:
        req.notify_user_after = None
    req.next_action_at = dclock.next_action(req)
    on_time = None if req.due_at is None else now <= req.due_at
    audit.record(
        session, actor, "disclosure.decided", RESOURCE, req.id, req.platform_id,
        {"status": req.status, "decision": req.decision, "fields": req.approved_fields,
         "reason": req.decision_reason, "accounts": len(req.matched_account_ids),
         "on_time": on_time, "first_officer_key_id":
             str(req.first_officer_key_id) if req.first_officer_key_id else None},
    )  # fmt: skip
    await outbox.emit(
        session,
        req.platform_id,
        "disclosure.decided",
        {
            "request_id": str(req.id),
            "reference_no": req.reference_no,
            "authority_id": str(req.authority_id),
            "status": req.status,
            "approved_fields": req.approved_fields,
            "accounts": len(req.matched_account_ids),
            "decided_at": now.isoformat(),
            "on_time": on_time,
            "package_expires_at": (req.package_expires_at.isoformat() if req.package_expires_at else None),
        },
    )
