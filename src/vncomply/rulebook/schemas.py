"""How rules appear in responses: the whole rule (`GET /v1/rulebook`) and the reference a clocked
resource keeps to the rule version that timed it (takedowns, disclosures, …)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from vncomply.rulebook.rules import Confidence, Rule, superseded_at


class RuleRef(BaseModel):
    """The rule version a deadline was computed from, kept with the resource."""

    id: str = Field(examples=["takedown.standard.v1"])
    hours: int | None = Field(description="hours the rule allowed; null when it sets no deadline")


class RuleOut(BaseModel):
    id: str
    topic: str
    effective_from: datetime
    effective_until: datetime | None = Field(
        description="when the next version of this topic takes over; null while it is the latest"
    )
    summary: str
    source: str
    confidence: Confidence = Field(
        description="high: the text is clear; medium: the source is right, a detail is our reading; "
        "unconfirmed: no official text was found (a setting or an assumption) - have counsel check"
    )
    params: dict[str, Any] = Field(description="the values the code applies")
    in_force: bool = Field(description="false for a draft: shown, never applied")

    @classmethod
    def of(cls, r: Rule) -> RuleOut:
        return cls(
            id=r.id,
            topic=r.topic,
            effective_from=r.effective_from,
            effective_until=superseded_at(r),
            summary=r.summary,
            source=r.source,
            confidence=r.confidence,
            params=r.params,
            in_force=r.in_force,
        )


class RulebookOut(BaseModel):
    as_of: datetime
    in_force: list[RuleOut]
    upcoming: list[RuleOut]
    drafts: list[RuleOut]
