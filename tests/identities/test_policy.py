"""Property tests of the permission rule engine (identities/policy.py) against the rules as the
rulebook states them: an independent reading of the order "first match wins", checked for every
action over drawn rows, dates and policies; and the batch check's one-action answer equals the
single check's answer for that action."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from vncomply.identities.policy import ACTIONS, Policy, policy_at, reason, reasons

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
TODAY = date(2026, 12, 1)

statuses = st.sampled_from(["verified", "pending", "revoked", "closed", None])
maybe_date = st.none() | st.dates(TODAY - timedelta(days=3), TODAY + timedelta(days=3))
maybe_time = st.none() | st.datetimes(
    NOW.replace(tzinfo=None) - timedelta(days=2), NOW.replace(tzinfo=None) + timedelta(days=2)
).map(lambda t: t.replace(tzinfo=UTC))
rows = st.tuples(
    statuses,
    maybe_date,  # minor_until
    st.booleans(),  # has_guardian
    st.booleans(),  # has_national_id
    st.booleans() | st.none(),  # commercial_livestreamer (NULL for an unknown account)
    st.booleans() | st.none(),  # locked (NULL: no block row)
    maybe_time,  # blocked_until
    st.booleans(),  # the platform's contact point filed by now
)
action_sets = st.frozensets(st.sampled_from(ACTIONS))
policies = st.builds(Policy, verified=action_sets, national_id=action_sets, gated=action_sets)


def expected(row: tuple[Any, ...], action: str, policy: Policy) -> str | None:
    """The rules in the words of the rulebook, one line each, in order."""
    status, minor_until, guardian, nid, commercial, locked, blocked_until, filed = row
    needs = action in policy.verified or action in policy.national_id
    checks: list[tuple[bool, str]] = [
        (status == "closed", "closed"),
        (needs and status == "revoked", "revoked"),
        (needs and status not in ("verified", "revoked"), "unverified"),
        (bool(locked), "locked"),
        (blocked_until is not None, "blocked"),
        (needs and minor_until is not None and minor_until > TODAY and not guardian, "guardian_required"),
        (action in policy.gated and not filed, "platform_contact_not_filed"),
        (action in policy.national_id and not (commercial and nid), "national_id_required"),
    ]
    return next((why for hit, why in checks if hit), None)


@given(row=rows, policy=policies)
def test_every_action_follows_the_rules_in_order(row: tuple[Any, ...], policy: Policy) -> None:
    decided = reasons(row, TODAY, policy)
    assert set(decided) == set(ACTIONS)
    for action in ACTIONS:
        assert decided[action] == expected(row, action, policy), action
        assert reason(row, TODAY, policy, action) == decided[action]


@given(row=rows)
def test_the_rules_in_force_never_allow_an_unverified_post(row: tuple[Any, ...]) -> None:
    decided = reasons(row, TODAY, policy_at(NOW))
    if row[0] != "verified":
        assert decided["post"] is not None
    if row[0] == "closed":
        assert set(decided.values()) == {"closed"}
    if row[5] or row[6] is not None:  # locked or blocked: nothing is allowed
        assert None not in decided.values()
