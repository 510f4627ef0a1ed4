"""Disclosure requests: creation, officer review, the package, and reads (docs/disclosures.md).

State machine::

    pending_review ──approve/partial──▶ approved | partially_approved | no_data
         │    └──approve/partial (two-officer platform)──▶ awaiting_second_approval
         │                                                   │ another officer: approve/partial
         │                                                   ▼
         │                                approved | partially_approved | no_data
         └──reject (either stage)──▶ rejected

Every decided state is final. Matches are previewed at creation and frozen at the final approval.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, not_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.authorities.service import addressable
from vncomply.config import get_settings
from vncomply.disclosures import deadline as dclock
from vncomply.disclosures.identity_source import SubjectKey, get_source
from vncomply.disclosures.models import DisclosureRequest
from vncomply.disclosures.schemas import (
    FIELD_ORDER,
    OPEN_STATUSES,
    RELEASED_STATUSES,
    Decision,
    DecisionIn,
    DisclosureRequestCreate,
    DisclosureRequestOut,
    FirstApprovalOut,
    PackageOut,
    Status,
    Subject,
    SubjectOut,
)
from vncomply.events import outbox
from vncomply.identities.keys import bi_key
from vncomply.identities.validation import (
    PROVINCE_CODES,
    ValidationProblem,
    mask_national_id,
    mask_phone,
    normalize_phone,
)
from vncomply.kit import clock, references
from vncomply.kit.crypto import blind_index
from vncomply.kit.errors import DomainError, Gone, IllegalTransition, InvalidInput
from vncomply.kit.pagination import time_id_cursor
from vncomply.kit.principal import Principal, Role
from vncomply.kit.references import Created
from vncomply.kit.tenancy import get_scoped, scoped
from vncomply.platforms.models import Platform
from vncomply.rulebook import rules as rulebook
from vncomply.rulebook.schemas import RuleRef

WHAT = "disclosure request"
RESOURCE = "disclosure_request"


def _ordered(fields: Iterable[object]) -> list[str]:
    """Fields in the canonical order (requests compare and display alike however they were sent)."""
    chosen = {str(f) for f in fields}
    return [f for f in FIELD_ORDER if f in chosen]


# --- subject ---


def _lookup_national_id(raw: str) -> str:
    """A CCCD for lookup: no birth date to check against, so structure only (12 digits, province)."""
    field = "subject.national_id"
    nid = "".join(raw.split())
    if not nid.isascii() or not nid.isdigit():
        raise InvalidInput(
            "national_id must contain only digits; send the 12-digit personal ID number",
            field=field,
        )
    if len(nid) == 9:
        raise InvalidInput(
            "national_id has 9 digits: the old identity card number (CMND) is no longer valid "
            "since 2024-12-31; send the 12-digit personal identification number (CCCD) instead",
            field=field,
        )
    if len(nid) != 12:
        raise InvalidInput(
            f"national_id has {len(nid)} digits; the personal identification number (CCCD) has exactly 12",
            field=field,
        )
    extra = frozenset(get_settings().national_id_extra_prefixes)
    if nid[:3] not in PROVINCE_CODES and nid[:3] not in extra:
        raise InvalidInput(
            f"national_id digits 1-3 are {nid[:3]}, which is not a province code (001-096) or an "
            "allowed country code; check the number",
            field=field,
        )
    return nid


def subject_key(platform_id: uuid.UUID, subject: Subject) -> tuple[SubjectKey, str | None]:
    """Normalise and validate the subject; returns its key and a masked form. The plaintext phone
    or ID number goes no further than this function."""
    if subject.account_id is not None:
        return SubjectKey("account_id", account_id=subject.account_id), None
    if subject.phone_number is not None:
        try:
            phone = normalize_phone(subject.phone_number)
        except ValidationProblem as p:
            raise InvalidInput(p.message, field="subject.phone_number") from None
        bi = blind_index(bi_key(), platform_id, phone)
        return SubjectKey("phone_number", blind_index=bi), mask_phone(phone)
    nid = _lookup_national_id(subject.national_id or "")
    bi = blind_index(bi_key(), platform_id, nid)
    return SubjectKey("national_id", blind_index=bi), mask_national_id(nid)


def _payload_hash(body: DisclosureRequestCreate, key: SubjectKey) -> bytes:
    # Built by hand, not from the body: the subject goes in as its blind index, never in clear.
    canonical = {
        "platform_id": str(body.platform_id),
        "legal_basis": body.legal_basis,
        "reason": body.reason,
        "urgency": body.urgency.value,
        "subject": [key.type, key.account_id, key.blind_index.hex() if key.blind_index else None],
        "fields": _ordered(body.fields),
    }
    return references.fingerprint(canonical)


# --- creation ---


async def create(
    session: AsyncSession, actor: Principal, body: DisclosureRequestCreate
) -> Created[DisclosureRequest]:
    """Record a request, unique per (authority, platform, reference_no): a retry with the same
    payload returns the existing one; another payload is a 409 (``vncomply.kit.references``)."""
    authority_id = actor.require_authority()
    await addressable(session, authority_id, body.platform_id)
    key, masked = subject_key(body.platform_id, body.subject)
    digest = _payload_hash(body, key)
    ref = references.Reference(authority_id, body.platform_id, body.reference_no)
    prior = await references.claim(session, DisclosureRequest, ref, digest, WHAT)
    if prior is not None:
        return Created(prior, created=False)

    now = clock.now()
    rule, due = rulebook.deadline(f"disclosure.{body.urgency.value}", now)
    matches = await get_source().match(session, body.platform_id, key)
    req = DisclosureRequest(
        id=uuid.uuid4(),
        platform_id=body.platform_id,
        authority_id=authority_id,
        requested_by_key_id=actor.key_id,
        reference_no=body.reference_no,
        legal_basis=body.legal_basis,
        reason=body.reason,
        urgency=body.urgency.value,
        subject_type=key.type,
        subject_account_id=key.account_id,
        subject_blind_index=key.blind_index,
        subject_masked=masked,
        fields=_ordered(body.fields),
        payload_hash=digest,
        status=Status.pending_review.value,
        received_at=now,
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
         "fields": req.fields, "rule_id": req.rule_id},
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
            "due_at": req.due_at.isoformat() if req.due_at else None,
        },
    )
    return Created(req, created=True)


# --- review ---


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
    chosen = _ordered(body.fields)
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


async def decide(
    session: AsyncSession, actor: Principal, request_id: uuid.UUID, body: DecisionIn
) -> DisclosureRequest:
    req = await get_scoped(session, DisclosureRequest, request_id, actor, WHAT, for_update=True)
    if req.status not in OPEN_STATUSES:
        raise IllegalTransition(
            f"This request is already decided ({req.status}); a decision is final.",
            current_state=req.status,
        )
    fields = _check_decision(req, body)
    now = clock.now()
    second = req.status == Status.awaiting_second_approval.value
    if second and req.first_officer_key_id == actor.key_id:
        raise IllegalTransition(
            "This platform requires two different officers to approve a disclosure; this key "
            "made the first approval, so another officer's key must confirm or reject it.",
            current_state=req.status,
        )
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
    await dclock.fire_due(session, req, now)

    if fields is None:
        await _finish(session, actor, req, Status.rejected, body, None, [], now)
        return req
    matches = await get_source().match(session, req.platform_id, _key_of(req))
    if not matches:
        await _finish(session, actor, req, Status.no_data, body, fields, [], now)
        return req
    platform = await session.get(Platform, req.platform_id)
    two_officers = bool(platform and platform.disclosure_two_officers)
    if two_officers and not second:
        req.status = Status.awaiting_second_approval.value
        req.first_decision = body.decision.value
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


def _key_of(req: DisclosureRequest) -> SubjectKey:
    return SubjectKey(req.subject_type, req.subject_account_id, req.subject_blind_index)


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
    released = status.value in RELEASED_STATUSES
    req.status = status.value
    req.decision = body.decision.value
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


# --- the package ---


async def package(session: AsyncSession, actor: Principal, request_id: uuid.UUID) -> PackageOut | DomainError:
    """The approved fields of the matched accounts, decrypted — for the requesting authority only.

    A refused fetch (not released yet, expired) is *returned*, after its audit record: an attempt
    to reach identity data is worth a trace even when it fails, so the caller must commit it.
    """
    req = await get_scoped(session, DisclosureRequest, request_id, actor, WHAT, for_update=True)
    now = clock.now()
    refusal: DomainError | None = None
    if req.status not in RELEASED_STATUSES or req.package_expires_at is None:
        refusal = IllegalTransition(
            f"No package: the request is {req.status}; a package exists only once an officer "
            "has approved the request (approved or partially_approved).",
            current_state=req.status,
        )
    elif now >= req.package_expires_at:
        refusal = Gone(
            f"The package for this request was available until "
            f"{req.package_expires_at.isoformat()} and has expired; ask the platform's "
            "compliance officer through a new request if you still need the data.",
        )
    if refusal is not None:
        audit.record(
            session, actor, "disclosure.package_refused", RESOURCE, req.id, req.platform_id,
            {"reference_no": req.reference_no, "status": req.status, "http_status": refusal.status},
        )  # fmt: skip
        return refusal
    assert req.package_expires_at is not None  # released requests always have one (checked above)
    fields = list(req.approved_fields or [])
    records = await get_source().records(session, req.platform_id, list(req.matched_account_ids), fields)
    # Belt and braces: whatever the source returns, only account_id and approved fields go out.
    allowed = {"account_id", *fields}
    accounts = [{k: v for k, v in r.items() if k in allowed} for r in records]
    req.package_fetches += 1
    req.last_fetched_at = now
    audit.record(
        session, actor, "disclosure.package_fetched", RESOURCE, req.id, req.platform_id,
        {"reference_no": req.reference_no, "fields": fields, "accounts": len(accounts),
         "fetch_no": req.package_fetches},
    )  # fmt: skip
    return PackageOut(
        request_id=req.id,
        reference_no=req.reference_no,
        platform_id=req.platform_id,
        fields=fields,
        generated_at=now,
        expires_at=req.package_expires_at,
        accounts=accounts,
    )


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
        stmt = stmt.where(m.status.in_([s.value for s in statuses]))
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
        urgency=req.urgency,  # type: ignore[arg-type]
        subject=SubjectOut(
            type=req.subject_type, account_id=req.subject_account_id, masked=req.subject_masked
        ),
        fields=list(req.fields),
        status=Status(req.status),
        received_at=req.received_at,
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
