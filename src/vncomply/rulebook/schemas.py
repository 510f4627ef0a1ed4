"""How rules appear in responses: the whole rule (`GET /v1/rulebook`) and the reference a clocked
resource keeps to the rule version that timed it (takedowns, disclosures, …)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from vncomply.rulebook.rules import Confidence, Rule, superseded_at


class RuleRef(BaseModel):
    """The rule version a deadline was computed from, kept with the resource."""

    id: str = Field(examples=["takedown.standard.v1"])
    hours: int | None = Field(description="hours the rule allowed; null when it sets no deadline")


_RULE_EXAMPLE: JsonDict = {
    "id": "takedown.standard.v1",
    "topic": "takedown.standard",
    "effective_from": "2024-12-24T17:00:00Z",
    "effective_until": None,
    "summary": "Remove requested content within 24 hours of receipt (electronic, written or by phone); "
    "the verdict is judged on when the platform's resolution reaches vncomply, not on the time the "
    "platform says it acted",
    "source": "Decree 147/2024; Cybersecurity Law 2018",
    "confidence": "high",
    "params": {"hours": 24, "judged_on": "received_by_vncomply"},
    "in_force": True,
}


class RuleOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_RULE_EXAMPLE]})

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "as_of": "2026-11-25T08:00:00Z",
                    "in_force": [_RULE_EXAMPLE],
                    "upcoming": [],
                    "drafts": [
                        {
                            "id": "lock.draft-2026-02",
                            "topic": "lock",
                            "effective_from": "2026-01-31T17:00:00Z",
                            "effective_until": None,
                            "summary": "MPS draft (February 2026), not in force: 3 violations in 30 days "
                            "-> up to 60 days; 10 in 90 days -> up to 180 days",
                            "source": "MPS draft decree, February 2026",
                            "confidence": "medium",
                            "params": {"thresholds": [{"count": 3, "days": 30, "max_days": 60}]},
                            "in_force": False,
                        }
                    ],
                }
            ]
        }
    )

    as_of: datetime
    in_force: list[RuleOut]
    upcoming: list[RuleOut]
    drafts: list[RuleOut]
