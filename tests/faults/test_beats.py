"""Two beats at once (and two workers, so their doubled sweeps really run side by side): no
transition fires twice. Orders with a 10-second window fall due during the test, so each has four
steps — three reminders and overdue — taken while both beats tick."""

from __future__ import annotations

import time
from datetime import timedelta

from tests.factories import free_port
from tests.faults.conftest import StackFactory
from tests.faults.procs import wait_for
from tests.faults.world import build, now, seed_due_orders

ORDERS = 2000


def test_two_beats_never_fire_a_transition_twice(make_stack: StackFactory) -> None:
    with make_stack(sweep_interval_seconds="1") as s:
        port = free_port()
        s.procs.api(port)
        world = build(f"http://127.0.0.1:{port}", platforms=2, accounts=1)
        beats = [s.procs.beat(), s.procs.beat()]
        s.procs.worker()
        s.procs.worker()
        t0 = now() + timedelta(seconds=10)
        for n, tenant in enumerate(world.tenants):
            seed_due_orders(
                s,
                world.template_orders[tenant.platform_id],
                ORDERS // 2,
                first_due=t0 + timedelta(seconds=n),
                spread=timedelta(seconds=4),
                window=timedelta(seconds=10),
                tag="B",
            )
        started = time.monotonic()
        wait_for(
            "every order to be overdue",
            lambda: (
                s.one(
                    "SELECT count(*) FROM takedown_orders "
                    "WHERE reference_no LIKE 'B-%%' AND breached_at IS NULL"
                )
                == 0
            ),
            120,
        )
        took = time.monotonic() - started
        doubled = s.sql(
            """
            SELECT type, count(*) FROM (
                SELECT type, data->>'order_id', data->>'fraction' FROM events
                WHERE type IN ('takedown.deadline_approaching', 'takedown.overdue')
                GROUP BY 1, 2, 3 HAVING count(*) > 1) d
            GROUP BY type
            """
        )
        fired = dict(
            s.sql(
                "SELECT type, count(*) FROM events WHERE type IN "
                "('takedown.deadline_approaching', 'takedown.overdue') GROUP BY type"
            )
        )
        audit_doubled = s.one(
            """
            SELECT count(*) FROM (
                SELECT resource_id, action, details->>'fraction' FROM audit_events
                WHERE action LIKE 'takedown.%%' AND actor_role = 'system'
                GROUP BY 1, 2, 3 HAVING count(*) > 1) d
            """
        )
        sends = [p.output(2_000_000).count("Sending due task deadlines-sweep") for p in beats]
        reminders = int(fired.get("takedown.deadline_approaching", 0))  # type: ignore[call-overload]
        print(
            f"\ntwo beats ({sends[0]} and {sends[1]} sweeps sent), two workers: {ORDERS} orders, "
            f"{fired.get('takedown.overdue', 0)} overdue and {reminders} reminders of "
            f"{3 * ORDERS} (a reminder a late sweep finds already passed is skipped, by design) in "
            f"{took:.1f} s; doubled transitions {dict(doubled) or 0}, doubled audit rows {audit_doubled}"
        )
        assert all(n > 0 for n in sends), "both beats must have sent sweeps"
        assert fired.get("takedown.overdue") == ORDERS
        assert doubled == []
        assert audit_doubled == 0
