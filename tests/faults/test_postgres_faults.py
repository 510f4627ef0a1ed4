"""PostgreSQL failing under load: the API's connections terminated (`pg_terminate_backend`), and
the server stopped and started again.

Targets: a request the failure catches answers a 503 problem (never a 500); the API, the worker
and beat recover without a restart; sweeps and deliveries resume within 5 s of PostgreSQL
returning; nothing is lost or doubled."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import timedelta

from tests.factories import free_port
from tests.faults.conftest import StackFactory
from tests.faults.load import CheckLoad, Watcher, checking, receiving
from tests.faults.procs import wait_for
from tests.faults.stack import Stack
from tests.faults.world import Tenant, build, now, seed_due_orders

RESUME_TARGET = 5.0
TERMINATE = """
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
"""


@contextlib.contextmanager
def load_of(base: str, tenant: Tenant) -> Iterator[tuple[CheckLoad, CheckLoad]]:
    """Permission checks (the hot read pool) and identity writes (the ORM session) at once."""
    checks = CheckLoad(base, tenant.platform_key, tenant.accounts, concurrency=3)
    writes = CheckLoad(base, tenant.platform_key, tenant.accounts, concurrency=2, writes=True)
    with checking(checks), checking(writes):
        yield checks, writes


def test_terminated_connections_answer_503_and_the_api_recovers(make_stack: StackFactory) -> None:
    with make_stack() as s:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        api = s.procs.api(port)
        tenant = build(base, platforms=1, accounts=8).tenant
        with load_of(base, tenant) as (checks, writes):
            time.sleep(2)
            killed = []
            for _ in range(3):
                killed.append(s.count(TERMINATE))
                last = time.monotonic()
                time.sleep(1)
            time.sleep(3)
        recovered = max(
            (t for t in (checks.last_failure_after(0), writes.last_failure_after(0)) if t is not None),
            default=last,
        )
        after = [a for a in checks.answers + writes.answers if a.started > recovered]
        print(
            f"\npg_terminate_backend x3 ({killed} backends): {checks.summary()}; {writes.summary()}; "
            f"last failure {max(0.0, recovered - last):.2f} s after the last termination, "
            f"{len(after)} requests after it, all 2xx; API restarted: {not api.alive()}"
        )
        assert checks.unanswered_problems() == []
        assert writes.unanswered_problems() == []
        assert api.alive()
        assert after
        assert all(a.ok for a in after)
        assert recovered - last <= RESUME_TARGET


def transitions(s: Stack) -> int:
    return s.count(
        "SELECT count(*) FROM takedown_orders WHERE reference_no LIKE 'P-%%' AND breached_at IS NOT NULL"
    )


def test_postgres_stopped_and_started(make_stack: StackFactory) -> None:
    orders = 1000
    # The default sweep interval: the 5 s target holds for the shipped configuration.
    with receiving() as rec, make_stack() as s:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        api = s.procs.api(port)
        beat = s.procs.beat()
        worker = s.procs.worker()
        world = build(base, platforms=1, accounts=8, webhook_url=rec.url)
        seed_due_orders(
            s,
            world.template_orders[world.tenant.platform_id],
            orders,
            first_due=now() + timedelta(seconds=2),
            spread=timedelta(seconds=15),
            tag="P",
        )
        watcher = Watcher(lambda: transitions(s)).start()
        try:
            with load_of(base, world.tenant) as (checks, writes):
                wait_for("transitions under way", lambda: transitions(s) > 50, 60)
                down = time.monotonic()
                s.servers.stop_postgres()
                time.sleep(5)
                s.servers.start_postgres()
                up = time.monotonic()
                wait_for("a transition after PostgreSQL returned", lambda: watcher.first_rise_after(up), 60)
                wait_for("a delivery after PostgreSQL returned", lambda: bool(rec.arrivals_after(up)), 60)
                wait_for(
                    "the API to answer again", lambda: checks.answers[-1].ok and writes.answers[-1].ok, 30
                )
                time.sleep(2)
            wait_for("every order to transition", lambda: transitions(s) == orders, 90)
        finally:
            watcher.stop()
        sweep_resumed = (watcher.first_rise_after(up) or up) - up
        delivery_resumed = rec.arrivals_after(up)[0] - up
        api_resumed = (
            max(
                (
                    t
                    for t in (checks.last_failure_after(down), writes.last_failure_after(down))
                    if t is not None
                ),
                default=up,
            )
            - up
        )
        wait_for(
            "every event to be delivered",
            lambda: not {str(r[0]) for r in s.sql("SELECT id FROM events")} - set(rec.ids()),
            90,
        )
        doubled = s.count(
            "SELECT count(*) FROM (SELECT data->>'order_id' FROM events WHERE type = 'takedown.overdue' "
            "GROUP BY 1 HAVING count(*) > 1) d"
        )
        print(
            f"\nPostgreSQL down {up - down:.1f} s: {checks.summary()}; {writes.summary()}; the API's "
            f"last failure {api_resumed:.1f} s, sweeps resumed {sweep_resumed:.1f} s and deliveries "
            f"{delivery_resumed:.1f} s after PostgreSQL returned; {transitions(s)}/{orders} orders "
            f"transitioned, doubled {doubled}; api, worker, beat alive: "
            f"{api.alive()}, {worker.alive()}, {beat.alive()}"
        )
        assert checks.unanswered_problems() == []
        assert writes.unanswered_problems() == []
        assert (api.alive(), worker.alive(), beat.alive()) == (True, True, True)
        assert doubled == 0
        assert api_resumed <= RESUME_TARGET
        assert sweep_resumed <= RESUME_TARGET
        assert delivery_resumed <= RESUME_TARGET
