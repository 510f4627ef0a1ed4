from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict

from vncomply.audit import service
from vncomply.auth.deps import require
from vncomply.kit.db import SessionDep
from vncomply.kit.docs import doc
from vncomply.kit.pagination import Page, PageParams, encode_cursor, page_params, seq_cursor
from vncomply.kit.principal import Principal, Role

router = APIRouter(prefix="/v1/audit-events", tags=["audit"])
Reader = Annotated[Principal, Depends(require(Role.admin, Role.officer))]


class AuditEventOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "seq": 42,
                    "at": "2026-11-25T09:10:00Z",
                    "actor": {
                        "key_id": "0466dafe-9186-48ff-98de-9b8065cb5964",
                        "role": "platform",
                        "platform_id": "6f1c1f52-3c1e-4d8e-9b0a-0d6c2a1f2b11",
                        "authority_id": None,
                    },
                    "action": "takedown.item.resolved",
                    "resource_type": "takedown_order",
                    "resource_id": "3a6e296c-50e4-43a1-afd1-41f3a2232b3d",
                    "platform_id": "6f1c1f52-3c1e-4d8e-9b0a-0d6c2a1f2b11",
                    "details": {"item_id": "3563b5cc-87da-4a0a-9401-7ecf5774b626", "outcome": "removed"},
                    "sealed": True,
                }
            ]
        }
    )

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"ok": True, "checked": 1280, "first_broken_seq": None, "unsealed": 3}]
        }
    )

    ok: bool
    checked: int
    first_broken_seq: int | None
    unsealed: int


@router.get(
    "",
    response_model=Page[AuditEventOut],
    **doc(
        summary="The audit trail (oldest first)",
        about="Every change, by whom and when: an officer sees their own platform's, an admin all. "
        "Narrow it with `resource_type` and `resource_id` (e.g. `takedown_order` and an order's id), "
        "`action` (e.g. `disclosure.package_fetched`), `since` and `until`. `sealed` events are "
        "chained by hash; the newest few are sealed within seconds.",
        rule="retention.v1",
        next="Check the chain with `GET /v1/audit-events/verify`.",
    ),
)
async def list_audit_events(
    session: SessionDep,
    actor: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    resource_type: Annotated[str | None, Query(max_length=40)] = None,
    resource_id: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=80)] = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
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


@router.get(
    "/verify",
    response_model=VerifyOut,
    **doc(
        summary="Recompute the hash chain(s)",
        about="Recomputes every sealed event's hash from its content and its predecessor's: `ok` is "
        "false, with `first_broken_seq`, if any event was altered or removed.",
        next="If `ok` is false, keep the database as it is and escalate: read the events from "
        "`first_broken_seq` on with `GET /v1/audit-events`.",
    ),
)
async def verify_audit_chain(session: SessionDep, actor: Reader) -> VerifyOut:
    v = await service.verify(session, actor.platform_id, actor.is_admin)
    return VerifyOut(ok=v.ok, checked=v.checked, first_broken_seq=v.first_broken_seq, unsealed=v.unsealed)
