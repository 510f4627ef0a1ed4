from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from vncomply.auth.deps import require
from vncomply.breaches import service
from vncomply.breaches.enums import BreachStatus
from vncomply.breaches.schemas import BreachCreate, BreachOut, BreachSummary, NotifiedIn
from vncomply.idempotency.route import IdempotentRoute, idempotent
from vncomply.kit.db import SessionDep
from vncomply.kit.docs import doc
from vncomply.kit.pagination import Page, PageParams, encode_cursor, page_params
from vncomply.kit.principal import Principal, Role
from vncomply.kit.types import ZonedDateTime

router = APIRouter(prefix="/v1/breaches", tags=["breaches"], route_class=IdempotentRoute)

Officer = Annotated[Principal, Depends(require(Role.officer))]
Reader = Annotated[Principal, Depends(require(Role.officer, Role.admin))]


@router.post(
    "",
    status_code=201,
    response_model=BreachOut,
    **doc(
        summary="Record a personal-data breach",
        about="`due_at` = `detected_at` + the hours of the breach-notice rule in force at "
        "`detected_at` (72: Decree 13/2023 until 2025-12-31, PDPL 91/2025 + Decree 356/2025 from "
        "2026-01-01). The record describes the breach, never the people in it: text that looks like "
        "a phone number, an ID number or an e-mail address is refused.",
        changes="Records the breach and starts its notice clock; audited as `breach.recorded`; "
        "reminders follow as `breach.deadline_approaching`, then `breach.overdue`.",
        rule=("breach_notice.v0", "breach_notice.v1"),
        next="Notify MPS (A05) before `due_at`, then record the notice "
        "(`POST /v1/breaches/{breach_id}/notified`).",
    ),
)
@idempotent
async def create_breach(body: BreachCreate, session: SessionDep, actor: Officer) -> BreachOut:
    return service.to_out(await service.create(session, actor, body))


@router.get(
    "",
    response_model=Page[BreachSummary],
    **doc(
        summary="Breaches, soonest due first",
        about="An officer sees its platform's, an admin all (or one `platform_id`). `overdue=true` "
        "for those whose notice is late.",
        rule=("breach_notice.v0", "breach_notice.v1"),
        next="Open one with `GET /v1/breaches/{breach_id}`.",
    ),
)
async def list_breaches(
    session: SessionDep,
    actor: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    status: BreachStatus | None = None,
    overdue: Annotated[bool | None, Query(description="due_at passed and no notice recorded")] = None,
    due_before: Annotated[ZonedDateTime | None, Query(description="due_at earlier than")] = None,
    detected_after: Annotated[ZonedDateTime | None, Query(description="detected_at at or after")] = None,
    platform_id: Annotated[uuid.UUID | None, Query(description="admin: one platform's breaches")] = None,
) -> Page[BreachSummary]:
    filters = service.ListFilters(
        status=status,
        overdue=overdue,
        due_before=due_before,
        detected_after=detected_after,
        platform_id=platform_id,
    )
    rows = await service.list_breaches(session, actor, filters, page.cursor, page.limit)
    nxt = encode_cursor([rows[-1].due_at.isoformat(), str(rows[-1].id)]) if len(rows) == page.limit else None
    return Page(items=[service.to_summary(b) for b in rows], next_cursor=nxt)


@router.get(
    "/{breach_id}",
    response_model=BreachOut,
    **doc(
        summary="A breach and its notice clock",
        rule=("breach_notice.v0", "breach_notice.v1"),
        next="Record the notice to A05 once sent.",
        errors={404: "No breach with this id is visible to this key."},
    ),
)
async def get_breach(breach_id: uuid.UUID, session: SessionDep, actor: Reader) -> BreachOut:
    return service.to_out(await service.get(session, actor, breach_id))


@router.post(
    "/{breach_id}/notified",
    response_model=BreachOut,
    **doc(
        summary="Record the notice to MPS (A05)",
        about="`notified_at` (not in the future), A05's `reference`; `late_reason` is required when "
        "`notified_at` is at or after `due_at` (a late notice states its reason). Recorded once.",
        changes="Marks the breach notified; audited and announced as `breach.notified`.",
        rule=("breach_notice.v0", "breach_notice.v1"),
        next="Nothing more; the breach and its notice appear in the compliance report.",
        errors={
            404: "No breach with this id is visible to this key.",
            409: "The notice to A05 for this breach is already recorded; it is recorded once.",
        },
    ),
)
async def notified(breach_id: uuid.UUID, body: NotifiedIn, session: SessionDep, actor: Officer) -> BreachOut:
    return service.to_out(await service.notified(session, actor, breach_id, body))
