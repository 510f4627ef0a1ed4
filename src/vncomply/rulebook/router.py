from __future__ import annotations

from fastapi import APIRouter

from vncomply.auth.deps import AnyRole
from vncomply.kit import clock
from vncomply.kit.docs import doc
from vncomply.rulebook import rules
from vncomply.rulebook.schemas import RulebookOut, RuleOut

router = APIRouter(prefix="/v1/rulebook", tags=["rulebook"])


@router.get(
    "",
    response_model=RulebookOut,
    **doc(
        summary="Rules in force, upcoming and drafts",
        about="The legal rules as data. A deadline is computed from the rule in force when a request "
        "was received, and keeps that rule's id (`rule` on an order): a later change of law never "
        "moves it. Drafts are shown, never applied.",
        next="Have counsel check the rules whose source you are unsure of; changes of law arrive as "
        "new rule versions in `upcoming`.",
    ),
)
async def get_rulebook(actor: AnyRole) -> RulebookOut:
    now = clock.now()
    snap = rules.snapshot(now)
    return RulebookOut(as_of=now, **{k: [RuleOut.of(r) for r in v] for k, v in snap.items()})
