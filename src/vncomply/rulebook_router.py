from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from vncomply import clock, rulebook
from vncomply.auth.deps import AnyRole

router = APIRouter(prefix="/v1/rulebook", tags=["rulebook"])


class RuleOut(BaseModel):
    id: str
    topic: str
    effective_from: datetime
    summary: str
    source: str
    params: dict[str, Any]
    in_force: bool


class RulebookOut(BaseModel):
    as_of: datetime
    in_force: list[RuleOut]
    upcoming: list[RuleOut]
    drafts: list[RuleOut]


def _out(r: rulebook.Rule) -> RuleOut:
    return RuleOut(
        id=r.id,
        topic=r.topic,
        effective_from=r.effective_from,
        summary=r.summary,
        source=r.source,
        params=r.params,
        in_force=r.in_force,
    )


@router.get("", response_model=RulebookOut, summary="Rules in force, upcoming and drafts")
async def get_rulebook(actor: AnyRole) -> RulebookOut:
    now = clock.now()
    snap = rulebook.snapshot(now)
    return RulebookOut(as_of=now, **{k: [_out(r) for r in v] for k, v in snap.items()})
