from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from vncomply.audit import service
from vncomply.auth.deps import require
from vncomply.kit.db import SessionDep
from vncomply.kit.pagination import Page, PageParams, encode_cursor, page_params, seq_cursor
from vncomply.kit.principal import Principal, Role
from vncomply.kit.types import SINGLE_LINE, ZonedDateTime

router = APIRouter(prefix="/v1/audit-events", tags=["audit"])
Reader = Annotated[Principal, Depends(require(Role.admin, Role.officer))]


class AuditEventOut(BaseModel):
    seq: int
    at: datetime
    actor: dict[str, Any]
    action: str
    resource_type: str
    resource_id: str
    platform_id: uuid.UUID | None
    details: dict[str, Any]
    sealed: bool


class VerifyOut(BaseModel):
    ok: bool
    checked: int
    first_broken_seq: int | None
    unsealed: int


@router.get("", response_model=Page[AuditEventOut], summary="The audit trail (oldest first)")
async def list_audit_events(
    session: SessionDep,
    actor: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    resource_type: Annotated[str | None, Query(max_length=40), SINGLE_LINE] = None,
    resource_id: Annotated[str | None, Query(max_length=200), SINGLE_LINE] = None,
    action: Annotated[str | None, Query(max_length=80), SINGLE_LINE] = None,
    since: ZonedDateTime | None = None,
    until: ZonedDateTime | None = None,
) -> Page[AuditEventOut]:
    after = seq_cursor(page.cursor) if page.cursor else None
    rows = await service.list_events(
        session,
        actor.platform_id,
        actor.is_admin,
        resource_type=resource_type,
        resource_id=resource_id,
        action=action,
        since=since,
        until=until,
        after_seq=after,
        limit=page.limit,
    )
    items = [
        AuditEventOut(
            seq=r.seq,
            at=r.at,
            actor={
                "key_id": r.actor_key_id,
                "role": r.actor_role,
                "platform_id": r.actor_platform_id,
                "authority_id": r.actor_authority_id,
            },
            action=r.action,
            resource_type=r.resource_type,
            resource_id=r.resource_id,
            platform_id=r.platform_id,
            details=r.details,
            sealed=r.hash is not None,
        )
        for r in rows
    ]
    nxt = encode_cursor([rows[-1].seq]) if len(rows) == page.limit else None
    return Page(items=items, next_cursor=nxt)


@router.get("/verify", response_model=VerifyOut, summary="Recompute the hash chain(s)")
async def verify_audit_chain(session: SessionDep, actor: Reader) -> VerifyOut:
    v = await service.verify(session, actor.platform_id, actor.is_admin)
    return VerifyOut(ok=v.ok, checked=v.checked, first_broken_seq=v.first_broken_seq, unsealed=v.unsealed)
