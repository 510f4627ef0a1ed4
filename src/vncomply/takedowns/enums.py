"""The takedown domain's states and kinds. The values are the wire and database values."""

from __future__ import annotations

from enum import StrEnum

# How an order arrives is the same for every authority order (vncomply.authorities.receipt).
from vncomply.authorities.enums import Channel

__all__ = [
    "LOCKABLE_SUBJECTS",
    "Category",
    "Channel",
    "ItemStatus",
    "OrderStatus",
    "Outcome",
    "SubjectType",
    "Urgency",
    "Verdict",
]


class Urgency(StrEnum):
    standard = "standard"
    emergency = "emergency"


class Category(StrEnum):
    national_security = "national_security"
    anti_state_propaganda = "anti_state_propaganda"
    public_order = "public_order"
    defamation = "defamation"
    fraud = "fraud"
    gambling = "gambling"
    child_safety = "child_safety"
    intellectual_property = "intellectual_property"
    other = "other"


class SubjectType(StrEnum):
    post = "post"
    comment = "comment"
    video = "video"
    livestream = "livestream"
    page = "page"
    group = "group"
    channel = "channel"
    account = "account"


# Subjects that can be locked themselves (Decree 147: an account, page, group or channel): a
# removed item of these kinds records a violation against the subject as well as the account.
LOCKABLE_SUBJECTS = frozenset({SubjectType.page, SubjectType.group, SubjectType.channel})


class OrderStatus(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    completed = "completed"


class Outcome(StrEnum):
    """What a platform reports for one item."""

    removed = "removed"
    restricted = "restricted"  # blocked for Vietnam only
    not_found = "not_found"
    contested = "contested"

    @property
    def actioned(self) -> bool:
        """The platform says the content is no longer reachable from Vietnam."""
        return self is not Outcome.contested

    @property
    def violation(self) -> bool:
        """Counts as a ministry-requested violation of the item's account (Decree 147 locks)."""
        return self in (Outcome.removed, Outcome.restricted)


class ItemStatus(StrEnum):
    pending = "pending"
    removed = "removed"
    restricted = "restricted"
    not_found = "not_found"
    contested = "contested"

    @property
    def outcome(self) -> Outcome | None:
        return None if self is ItemStatus.pending else Outcome(self.value)


class Verdict(StrEnum):
    """The statutory verdict on a completed order, judged on when each resolution reached vncomply
    (docs/takedowns.md, "The verdict")."""

    on_time = "on_time"
    late = "late"
    contested = "contested"  # every item contested, all answered in time: nothing was taken down

    @property
    def on_time_flag(self) -> bool | None:
        """The older boolean view (``on_time``): null when the platform contested everything."""
        return {Verdict.on_time: True, Verdict.late: False}.get(self)
