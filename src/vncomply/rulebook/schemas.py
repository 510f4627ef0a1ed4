"""How rules appear in responses: the whole rule (`GET /v1/rulebook`) and the reference a clocked
resource keeps to the rule version that timed it (takedowns, disclosures, …)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from vncomply.rulebook.rules import Rule


class RuleRef(BaseModel):
    """The rule version a deadline was computed from, kept with the resource."""

    id: str = Field(examples=["takedown.standard.v1"])
    hours: int | None = Field(description="hours the rule allowed; null when it sets no deadline")


class RuleOut(BaseModel):
    id: str
    topic: str
    effective_from: datetime
    summary: str
    source: str
    params: dict[str, Any]
    in_force: bool

    @classmethod
    def of(cls, r: Rule) -> RuleOut:
        return cls(
            id=r.id,
            topic=r.topic,
            effective_from=r.effective_from,
            summary=r.summary,
            source=r.source,
            params=r.params,
            in_force=r.in_force,
        )


class RulebookOut(BaseModel):
    as_of: datetime
    in_force: list[RuleOut]
    upcoming: list[RuleOut]
    drafts: list[RuleOut]
