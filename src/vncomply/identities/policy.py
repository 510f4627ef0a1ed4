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

from vncomply.identities.enums import Action, Denial, IdentityStatus
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


def reasons(row: Sequence[Any], today: date, policy: Policy) -> dict[str, Denial | None]:
    """Per action, why it is denied (None: allowed). ``row`` is the permission statement's columns:
    status, minor_until, has_guardian, has_national_id, commercial_livestreamer, locked,
    blocked_until, filed (the platform's contact point filed by the statement's "now"); ``today``
    is that "now" in Vietnam."""
    facts = _facts(row, today)
    return {action: _decide(action, facts, policy) for action in ACTIONS}


def reason(row: Sequence[Any], today: date, policy: Policy, action: str) -> Denial | None:
    """``reasons(...)[action]`` without deciding the other actions (the batch check asks one)."""
    return _decide(action, _facts(row, today), policy)


# What the rules read from a row: status, why identity-needing actions are denied, the block, a
# minor without a guardian, the contact point not yet filed, a commercial livestreamer with an ID.
_Facts = tuple[Any, Denial | None, Denial | None, bool, bool, bool]


def _facts(row: Sequence[Any], today: date) -> _Facts:
    status, minor_until, has_guardian, has_nid, commercial, locked, blocked_until, filed = row
    identity: Denial | None = None
    if status == IdentityStatus.revoked:
        identity = Denial.revoked
    elif status != IdentityStatus.verified:
        identity = Denial.unverified
    block = Denial.locked if locked else (Denial.blocked if blocked_until is not None else None)
    guardian = minor_until is not None and today < minor_until and not has_guardian
    not_filed = not filed
    return status, identity, block, guardian, not_filed, bool(commercial and has_nid)


def _decide(action: str, facts: _Facts, policy: Policy) -> Denial | None:
    """The one statement of the rules' order (first match wins; see the module docstring)."""
    status, identity, block, guardian, not_filed, commercial_with_nid = facts
    needs_identity = policy.needs_identity(action)
    if status == IdentityStatus.closed:
        return Denial.closed
    if needs_identity and identity is not None:
        return identity
    if block is not None:
        return block
    if needs_identity and guardian:
        return Denial.guardian_required
    if action in policy.gated and not_filed:
        return Denial.platform_contact_not_filed
    if action in policy.national_id and not commercial_with_nid:
        return Denial.national_id_required
    return None
