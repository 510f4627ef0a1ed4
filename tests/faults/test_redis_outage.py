"""Redis stopped and started again under a load of permission checks and of orders falling due.

Targets: the checks answer 200 throughout (the rate limiter serves without Redis); sweeps and
webhook deliveries resume within 5 s of Redis returning (the worker's broker reconnect is tuned in
worker.py, see docs/scaling.md); nothing is lost or doubled."""

from __future__ import annotations

import time
from datetime import timedelta

from tests.factories import free_port
from tests.faults.conftest import StackFactory
from tests.faults.load import CheckLoad, Watcher, checking, receiving
from tests.faults.procs import wait_for
from tests.faults.stack import Stack
from tests.faults.world import build, now, seed_due_orders

RESUME_TARGET = 5.0
OUTAGE = 13.0  # past the 12 s try of kombu's default back-off (next: 20 s)
ORDERS = 2000


def transitions(s: Stack) -> int:
    return s.count(
        "SELECT count(*) FROM takedown_orders WHERE reference_no LIKE 'R-%%' AND breached_at IS NOT NULL"
    )


def test_redis_outage(make_stack: StackFactory) -> None:
    # The default sweep interval: the 5 s target holds for the shipped configuration.
    with receiving() as rec, make_stack() as s:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        s.procs.api(port)
        beat = s.procs.beat()
        worker = s.procs.worker()
        world = build(base, platforms=1, accounts=8, webhook_url=rec.url)
        tenant = world.tenant
        # Due one after another over 25 s from now: some before, many during and after the outage.
        seed_due_orders(
            s,
            world.template_orders[tenant.platform_id],
            ORDERS,
            first_due=now() + timedelta(seconds=2),
            spread=timedelta(seconds=25),
            tag="R",
        )
        watcher = Watcher(lambda: transitions(s)).start()
        try:
            with checking(CheckLoad(base, tenant.platform_key, tenant.accounts)) as load:
                wait_for("transitions under way", lambda: transitions(s) > 100, 60)
                down = time.monotonic()
                s.servers.stop_redis()
                time.sleep(OUTAGE)
                s.servers.start_redis()
                up = time.monotonic()
                wait_for(
                    "a transition after Redis returned", lambda: watcher.first_rise_after(up) is not None, 60
                )
                wait_for("a delivery after Redis returned", lambda: bool(rec.arrivals_after(up)), 60)
                time.sleep(1)
            wait_for("every order to transition", lambda: transitions(s) == ORDERS, 90)
        finally:
            watcher.stop()
        sweep_resumed = (watcher.first_rise_after(up) or up) - up
        delivery_resumed = rec.arrivals_after(up)[0] - up
        during = [a for a in load.answers if down <= a.started <= up]
        wait_for(
            "every event to be delivered",
            lambda: not {str(r[0]) for r in s.sql("SELECT id FROM events")} - set(rec.ids()),
            90,
        )
        doubled = s.one(
            "SELECT count(*) FROM (SELECT data->>'order_id' FROM events WHERE type = 'takedown.overdue' "
            "GROUP BY 1 HAVING count(*) > 1) d"
        )
        print(
            f"\nRedis down {up - down:.1f} s: {load.summary()} ({len(during)} during the outage, "
            f"statuses {sorted({a.status for a in during})}); sweeps resumed {sweep_resumed:.1f} s and "
            f"deliveries {delivery_resumed:.1f} s after Redis returned; {transitions(s)}/{ORDERS} "
            f"orders transitioned, doubled {doubled}; worker and beat alive: "
            f"{worker.alive()}, {beat.alive()}"
        )
        assert during, "no check was made during the outage"
        assert set(load.statuses()) == {200}
        assert worker.alive()
        assert beat.alive()
        assert doubled == 0
        assert sweep_resumed <= RESUME_TARGET
        assert delivery_resumed <= RESUME_TARGET
