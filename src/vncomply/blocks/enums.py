"""The blocks domain's states and kinds. The values are the wire values (and what the columns hold)."""

from __future__ import annotations

from enum import StrEnum


class SubjectType(StrEnum):
    """What a violation or a block is about (Decree 147: account, page, group, channel)."""

    account = "account"
    page = "page"
    group = "group"
    channel = "channel"


class Origin(StrEnum):
    """Why a block exists: the lock rules fired on violations, or an authority ordered it."""

    rule = "rule"
    order = "order"


class Kind(StrEnum):
    temporary = "temporary"
    permanent = "permanent"


class BlockStatus(StrEnum):
    """Computed from the clock at read time (``vncomply.blocks.status``), never stored."""

    scheduled = "scheduled"
    active = "active"
    expired = "expired"
    lifted = "lifted"
