"""What the permission check applies, read from the rules in force (never from constants): which
actions need a verified identity, which need verification by personal ID number, and which the
Form No. 10 contact filing gates. A change of law is a new rule version; the check follows it from
its effective instant (a test swaps a version and sees the answers change).

``reasons`` decides one identity row for every action. Reasons, first match wins:
``closed`` (every action); ``revoked`` / ``unverified`` (actions needing verification); ``locked``,
``blocked`` (every action); ``guardian_required`` (a minor without a guardian, actions needing
verification); ``platform_contact_not_filed`` (gated actions); ``national_id_required``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from vncomply.identities.schemas import Action
from vncomply.rulebook import rules as rulebook

ACTIONS: tuple[str, ...] = tuple(a.value for a in Action)


@dataclass(frozen=True, slots=True)
class Policy:
    verified: frozenset[str]  # need a verified identity (and, for a minor, a guardian)
    national_id: frozenset[str]  # need verification by personal ID number (so a verified identity)
    gated: frozenset[str]  # denied until the platform's contact point is filed

    def needs_identity(self, action: str) -> bool:
        return action in self.verified or action in self.national_id


_CACHE: dict[tuple[str, str], Policy] = {}


def policy_at(now: datetime) -> Policy:
    """The policy of the rules in force at ``now`` (once per statement on the hot path)."""
    actions = rulebook.in_force("verified_actions", now)
    filing = rulebook.in_force("contact_filing", now)
    key = (actions.id, filing.id)
    found = _CACHE.get(key)
    if found is None:
        found = Policy(
            verified=frozenset(actions.params["actions"]),
            national_id=frozenset(actions.params["national_id_actions"]),
            gated=frozenset(filing.params["gates"]),
        )
        _CACHE[key] = found
    return found


def reasons(row: Sequence[Any], now: datetime, today: date, policy: Policy) -> dict[str, str | None]:
    """Per action, why it is denied (None: allowed). ``row`` is the permission statement's columns:
    status, minor_until, has_guardian, has_national_id, commercial_livestreamer, locked,
    blocked_until, contact_filed_at."""
    status, minor_until, has_guardian, has_nid, commercial, locked, blocked_until, filed = row
    identity: str | None = None  # why an action needing a verified identity is denied
    if status == "revoked":
        identity = "revoked"
    elif status != "verified":
        identity = "unverified"
    block = "locked" if locked else ("blocked" if blocked_until is not None else None)
    guardian = minor_until is not None and today < minor_until and not has_guardian
    not_filed = filed is None or filed > now
    out: dict[str, str | None] = {}
    for action in ACTIONS:
        needs_identity = policy.needs_identity(action)
        if status == "closed":
            reason: str | None = "closed"
        elif needs_identity and identity is not None:
            reason = identity
        elif block is not None:
            reason = block
        elif needs_identity and guardian:
            reason = "guardian_required"
        elif action in policy.gated and not_filed:
            reason = "platform_contact_not_filed"
        elif action in policy.national_id and not (commercial and has_nid):
            reason = "national_id_required"
        else:
            reason = None
        out[action] = reason
    return out
