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
    summary="Record a personal-data breach",
    description="`due_at` = `detected_at` + the hours of the breach-notice rule in force at "
    "`detected_at` (72: Decree 13/2023 until 2025-12-31, PDPL 91/2025 + Decree 356/2025 from "
    "2026-01-01). The record describes the breach, never the people in it: text that looks like a "
    "phone number, an ID number or an e-mail address is refused.",
)
@idempotent
async def create_breach(body: BreachCreate, session: SessionDep, actor: Officer) -> BreachOut:
    return service.to_out(await service.create(session, actor, body))


@router.get("", response_model=Page[BreachSummary], summary="Breaches, soonest due first")
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


@router.get("/{breach_id}", response_model=BreachOut, summary="A breach and its notice clock")
async def get_breach(breach_id: uuid.UUID, session: SessionDep, actor: Reader) -> BreachOut:
    return service.to_out(await service.get(session, actor, breach_id))


@router.post(
    "/{breach_id}/notified",
    response_model=BreachOut,
    summary="Record the notice to MPS (A05)",
    description="`notified_at` (not in the future), A05's `reference`; `late_reason` is required when "
    "`notified_at` is at or after `due_at`. Recorded once: a second call is a 409.",
)
async def notified(breach_id: uuid.UUID, body: NotifiedIn, session: SessionDep, actor: Officer) -> BreachOut:
    return service.to_out(await service.notified(session, actor, breach_id, body))
