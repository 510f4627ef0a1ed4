from __future__ import annotations

from fastapi import APIRouter

from vncomply.auth.deps import AnyRole
from vncomply.kit import clock
from vncomply.rulebook import rules
from vncomply.rulebook.schemas import RulebookOut, RuleOut

router = APIRouter(prefix="/v1/rulebook", tags=["rulebook"])


@router.get("", response_model=RulebookOut, summary="Rules in force, upcoming and drafts")
async def get_rulebook(actor: AnyRole) -> RulebookOut:
    now = clock.now()
    snap = rules.snapshot(now)
    return RulebookOut(as_of=now, **{k: [RuleOut.of(r) for r in v] for k, v in snap.items()})
