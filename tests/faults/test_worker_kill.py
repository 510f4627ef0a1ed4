"""`kill -9` of the worker's whole process group in the middle of work, then a new worker.

Targets: every order transitions exactly once (0 lost, 0 doubled), every event is delivered at
least once, and webhook duplicates after a kill are bounded by the deliveries in flight."""

from __future__ import annotations

import time
from datetime import timedelta

import psycopg

from tests.factories import free_port
from tests.faults.conftest import StackFactory
from tests.faults.load import receiving
from tests.faults.procs import wait_for
from tests.faults.stack import Stack
from tests.faults.world import World, build, now, seed_due_orders

ORDERS_PER_PLATFORM = 1000  # one sweep batch each: the first commits, the second is caught mid-way


def overdue_counts(s: Stack, tag: str) -> tuple[int, int, int, int]:
    """(orders seeded, breached, with no overdue event, with more than one) for orders ``tag``-*."""
    row = s.sql(
        """
        WITH o AS (SELECT id, breached_at FROM takedown_orders WHERE reference_no LIKE %(p)s),
             e AS (SELECT (data->>'order_id')::uuid AS id, count(*) AS n FROM events
                   WHERE type = 'takedown.overdue' GROUP BY 1)
        SELECT count(*), count(o.breached_at), count(*) FILTER (WHERE e.n IS NULL),
               count(*) FILTER (WHERE e.n > 1)
        FROM o LEFT JOIN e USING (id)
        """,
        {"p": f"{tag}-%"},
    )[0]
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])  # type: ignore[call-overload]


def undelivered(s: Stack, received: set[str]) -> int:
    events = {str(r[0]) for r in s.sql("SELECT id FROM events")}
    return len(events - received)


def test_kill_9_mid_sweep_loses_and_doubles_nothing(make_stack: StackFactory) -> None:
    with receiving() as rec, make_stack(sweep_interval_seconds="1") as s:
        port = free_port()
        s.procs.api(port)
        s.procs.beat()
        world: World = build(f"http://127.0.0.1:{port}", platforms=2, accounts=2, webhook_url=rec.url)
        first, second = world.tenants
        # Platform 1's orders fall due first, so the sweep's first batch is all of them and commits;
        # the second batch (platform 2) waits on platform 2's event counter, which we hold: the
        # worker is killed with that batch's transaction open (orders updated, audit written).
        t = now()
        seed_due_orders(
            s,
            world.template_orders[first.platform_id],
            ORDERS_PER_PLATFORM,
            first_due=t - timedelta(minutes=2),
            tag="K",
        )
        seed_due_orders(
            s,
            world.template_orders[second.platform_id],
            ORDERS_PER_PLATFORM,
            first_due=t - timedelta(minutes=1),
            tag="K",
        )
        with psycopg.connect(s.dsn) as blocker:
            blocker.execute(
                "SELECT 1 FROM event_sequences WHERE platform_id = %s FOR UPDATE", (second.platform_id,)
            )
            worker = s.procs.worker()
            # Killed once the first batch committed and its events were delivered (deliveries cut
            # off by a kill are the other test's subject, and wait out their leases), while the
            # second batch waits mid-transaction.
            wait_for(
                "the first batch to commit and be delivered, the second to wait mid-transaction",
                lambda: (
                    overdue_counts(s, "K")[1] >= ORDERS_PER_PLATFORM
                    and undelivered(s, set(rec.ids())) == 0
                    and s.one("SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'") == 0
                    and s.one(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database()"
                    )
                    != 0
                ),
                60,
            )
            worker.kill9()
            killed_at = time.monotonic()
            committed_at_kill = overdue_counts(s, "K")[1]
            blocker.rollback()
        replacement_started = time.monotonic()
        s.procs.worker()
        ready = time.monotonic() - replacement_started
        wait_for(
            "every order to transition", lambda: overdue_counts(s, "K")[1] == 2 * ORDERS_PER_PLATFORM, 60
        )
        all_done = time.monotonic() - killed_at
        wait_for("every event to be delivered", lambda: undelivered(s, set(rec.ids())) == 0, 60)
        delivered = time.monotonic() - killed_at

        seeded, breached, lost, doubled = overdue_counts(s, "K")
        ids = rec.ids()
        duplicates = sum(n - 1 for n in ids.values())
        audit_doubled = s.one(
            "SELECT count(*) FROM (SELECT resource_id FROM audit_events WHERE action = 'takedown.overdue' "
            "GROUP BY resource_id HAVING count(*) > 1) d"
        )
        print(
            f"\nkill -9 mid-sweep: {seeded} due orders, {committed_at_kill} committed before the kill; "
            f"lost {lost}, doubled {doubled} (audit rows doubled: {audit_doubled}); new worker ready in "
            f"{ready:.1f} s, every order transitioned {all_done:.1f} s and every event delivered "
            f"{delivered:.1f} s after the kill; {len(ids)} events received, {duplicates} duplicates"
        )
        assert committed_at_kill == ORDERS_PER_PLATFORM, "the kill did not land mid-sweep"
        assert (seeded, breached, lost, doubled, audit_doubled) == (2000, 2000, 0, 0, 0)
        assert undelivered(s, set(ids)) == 0


def test_kill_9_mid_delivery_loses_nothing_and_bounds_duplicates(make_stack: StackFactory) -> None:
    # A slow receiver (0.5 s a request) and 150 events: three rounds of the 50 lanes. A short
    # delivery timeout keeps the claim's leases (sized from it) short, so the rows the kill leaves
    # `delivering` come due again within a minute; 2 s leaves the receiver's answers room on a busy
    # machine (at 1 s, a loaded run timed answers out: each is a retry, i.e. a duplicate that the
    # kill did not cause, and a backoff of 5 then 30 s before it is recorded).
    with (
        receiving(delay=0.5) as rec,
        make_stack(sweep_interval_seconds="1", webhook_timeout_seconds="2") as s,
    ):
        port = free_port()
        s.procs.api(port)
        s.procs.beat()
        world = build(f"http://127.0.0.1:{port}", platforms=1, accounts=2, webhook_url=rec.url)
        seed_due_orders(
            s,
            world.template_orders[world.tenant.platform_id],
            150,
            first_due=now() - timedelta(minutes=1),
            tag="D",
        )
        worker = s.procs.worker()
        wait_for("deliveries to be under way", lambda: len(rec.ids()) >= 60, 60)
        worker.kill9()
        killed_at = time.monotonic()
        received = set(rec.ids())
        recorded = {
            str(r[0]) for r in s.sql("SELECT event_id FROM webhook_deliveries WHERE status = 'delivered'")
        }
        # Reached the receiver, outcome never recorded: what can be sent twice.
        in_flight = len(received - recorded)
        leased = s.count("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivering'")
        s.procs.worker()
        wait_for("every event to be delivered", lambda: undelivered(s, set(rec.ids())) == 0, 120)
        wait_for(
            "every delivery to be recorded",
            lambda: s.one("SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'") == 0,
            90,
        )
        recovered = time.monotonic() - killed_at
        ids = rec.ids()
        duplicates = sum(n - 1 for n in ids.values())
        events = s.count("SELECT count(*) FROM events")
        print(
            f"\nkill -9 mid-delivery: {events} events, {len(received)} received before the kill, "
            f"{leased} leased and unrecorded, {in_flight} of them in flight (received, not recorded); "
            f"lost {undelivered(s, set(ids))}, duplicates {duplicates} (bound: {in_flight}); all "
            f"delivered {recovered:.1f} s after the kill"
        )
        assert leased > 0, "the kill did not land mid-delivery"
        assert undelivered(s, set(ids)) == 0
        assert duplicates <= in_flight
