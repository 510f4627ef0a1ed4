"""The filing clocks as pure functions: due dates from the rulebook, the reminder times and the next
action of a row. No database; ``deadline`` runs them on the engine, ``service`` when it opens a row.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from vncomply.config import get_settings
from vncomply.deadlines import reminders
from vncomply.filings.enums import FilingKind, FilingStatus
from vncomply.filings.models import Filing
from vncomply.kit.clock import VN_TZ
from vncomply.rulebook import rules as rulebook
from vncomply.rulebook.rules import Rule

# `filing.due_soon` this many days before due_at. Rows remember how many they have had
# (``reminders_sent``), so keep the days in descending order.
REMINDER_DAYS: tuple[int, ...] = (30, 7, 1)


def _vn_midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=VN_TZ).astimezone(UTC)  # the API speaks UTC


def contact_point_due(in_scope_since: date) -> tuple[Rule, datetime, datetime]:
    """(rule, clock start, due_at) of the Form No. 10 filing: 60 days from coming in scope, or from
    the decree's start for a platform that was in scope before it."""
    start = rulebook.clock_start("contact_filing", _vn_midnight(in_scope_since))
    rule = rulebook.in_force("contact_filing", start)
    return rule, start, start + timedelta(days=rule.params["days"])


def annual_report_due(year: int) -> tuple[Rule, datetime, datetime]:
    """(rule, clock start, due_at) of the report on ``year``: due by the end of the configured day
    (Vietnam time) of the following year. The clock starts when the year ends."""
    month, day = get_settings().annual_report_due_month_day
    start = _vn_midnight(date(year + 1, 1, 1))
    rule = rulebook.in_force("annual_report", rulebook.clock_start("annual_report", start))
    return rule, start, _vn_midnight(date(year + 1, month, day) + timedelta(days=1))


def assessment_due(kind: FilingKind, starts_at: datetime) -> tuple[Rule, datetime, datetime]:
    """(rule, clock start, due_at) of a DPIA or transfer impact assessment: 60 days from the start
    of the processing or transfer (or from the law's start, for one that began before it)."""
    start = rulebook.clock_start(kind.topic, starts_at)
    rule = rulebook.in_force(kind.topic, start)
    return rule, start, start + timedelta(days=rule.params["days"])


def year_of(at: datetime) -> int:
    """The calendar year of ``at`` in Vietnam."""
    return at.astimezone(VN_TZ).year


def rollover_at(f: Filing) -> datetime | None:
    """An annual report's year end, when the next year's filing is opened."""
    if f.kind is not FilingKind.annual_report or f.period_year is None:
        return None
    return _vn_midnight(date(f.period_year + 1, 1, 1))


def reminder_times(f: Filing) -> list[datetime]:
    return [f.due_at - timedelta(days=d) for d in REMINDER_DAYS]


def is_overdue(f: Filing, now: datetime) -> bool:
    return f.status is FilingStatus.pending and now >= f.due_at


def next_action(f: Filing) -> datetime | None:
    """The next instant the engine must look at ``f`` (None: nothing left to do)."""
    candidates: list[datetime] = []
    if f.status is FilingStatus.pending and f.overdue_at is None:
        candidates.append(reminders.next_instant(reminder_times(f), f.reminders_sent, f.due_at))
    roll = rollover_at(f)
    if roll is not None and f.rolled_over_at is None:
        candidates.append(roll)
    return min(candidates, default=None)
