"""Swapping a rule version in a test, as a change of law would: a new version of a topic taking
effect at an instant, with some params changed. The code must follow it without a code change."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import pytest

from vncomply.rulebook import rules


def new_version(
    monkeypatch: pytest.MonkeyPatch, base_id: str, effective_from: datetime, **params: Any
) -> rules.Rule:
    base = rules.rule_by_id(base_id)
    version = dataclasses.replace(
        base,
        id=f"{base.topic}.test-{effective_from:%Y%m%d%H%M}",
        effective_from=effective_from,
        summary=f"test version of {base.id}",
        params={**base.params, **params},
    )
    monkeypatch.setattr(rules, "RULES", (*rules.RULES, version))
    monkeypatch.setitem(rules._BY_ID, version.id, version)
    return version
