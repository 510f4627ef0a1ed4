from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from vncomply.audit import service
from vncomply.auth.deps import require
from vncomply.kit.db import SessionDep
from vncomply.kit.docs import doc
from vncomply.kit.errors import InvalidInput
from vncomply.kit.pagination import Page, PageParams, decode_cursor, encode_cursor, page_params, seq_cursor
from vncomply.kit.principal import Principal, Role
from vncomply.kit.types import SINGLE_LINE, ZonedDateTime

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
            "examples": [
                {"ok": True, "checked": 1000, "first_broken_seq": None, "unsealed": 3, "next_cursor": "WyJ…"}
            ]
        }
    )

    ok: bool = Field(description="no break in the rows this call checked")
    checked: int = Field(description="rows checked by this call (at most `limit`)")
    first_broken_seq: int | None = Field(description="the lowest `seq` that breaks its chain here")
    unsealed: int = Field(description="rows written but not chained yet (not covered by the check)")
    next_cursor: str | None = Field(
        default=None,
        description="pass as `cursor` to check the next rows; null when every chain has been checked",
    )


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


@router.get(
    "/verify",
    response_model=VerifyOut,
    **doc(
        summary="Recompute the hash chain(s), at most `limit` rows per call",
        about="Recomputes each sealed event's hash from its content and its predecessor's, chain by "
        "chain (an admin every chain, an officer its platform's), and stops after `limit` rows: while "
        "`next_cursor` is not null, call again with it. Each row's link to the row before it is "
        "checked across calls, so the pages together verify whole chains.",
        next="If `ok` is false, keep the database as it is and escalate: read the events from "
        "`first_broken_seq` on with `GET /v1/audit-events`.",
    ),
)
async def verify_audit_chain(
    session: SessionDep,
    actor: Reader,
    limit: Annotated[int, Query(ge=1, le=service.VERIFY_MAX, description="rows per call")] = (
        service.VERIFY_LIMIT
    ),
    cursor: Annotated[str | None, Query(max_length=512, description="from `next_cursor`")] = None,
) -> VerifyOut:
    resume = _verify_cursor(cursor, actor) if cursor else None
    v = await service.verify(session, actor.platform_id, actor.is_admin, resume=resume, limit=limit)
    return VerifyOut(
        ok=v.ok,
        checked=v.checked,
        first_broken_seq=v.first_broken_seq,
        unsealed=v.unsealed,
        next_cursor=(
            encode_cursor([str(v.resume[0]) if v.resume[0] else None, v.resume[1]]) if v.resume else None
        ),
    )


def _verify_cursor(raw: str, actor: Principal) -> tuple[uuid.UUID | None, int]:
    """(chain, last chain_seq checked); a cursor for another platform's chain is not ours."""
    value = decode_cursor(raw)
    try:
        chain_raw, after = value
        chain = uuid.UUID(chain_raw) if chain_raw is not None else None
    except (TypeError, ValueError):
        chain, after = uuid.UUID(int=0), -1
    foreign = not actor.is_admin and chain != actor.platform_id
    if foreign or not isinstance(after, int) or isinstance(after, bool) or not 0 <= after < 2**63:
        raise InvalidInput(
            "`cursor` is not one we issued; pass the `next_cursor` of the previous call unchanged",
            field="cursor",
        )
    return chain, after
