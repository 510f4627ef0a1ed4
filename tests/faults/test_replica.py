"""Hot reads from a real streaming replica (`pg_basebackup -R` of the fault tests' primary): the
checks go to it while it is fresh; a block ordered on the primary denies the account within
``VNCOMPLY_READ_MAX_LAG_SECONDS`` even while the replica's replay is paused; the replica stopped
mid-load costs no check; /metrics says which server answered."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.factories import free_port
from tests.faults.conftest import StackFactory
from tests.faults.load import CheckLoad, checking
from tests.faults.procs import wait_for
from tests.faults.stack import Servers, plain, with_db
from tests.faults.world import World, auth, build
from vncomply.embedded import EmbeddedServer
from vncomply.embedded.replica import start_replica

MAX_LAG = 1.0


class Replica:
    def __init__(self, primary: Servers, base: Path) -> None:
        self.primary = primary
        self.base = base
        self.server: EmbeddedServer = start_replica(primary.pg_url, base)
        self.url = self.server.url

    def stop(self) -> None:
        self.server.stop()

    def start(self) -> None:
        self.server = start_replica(self.primary.pg_url, self.base)
        assert self.server.url == self.url

    def sql(self, db: str, query: str) -> list[tuple[object, ...]]:
        with psycopg.connect(plain(with_db(self.url, db)), autocommit=True, connect_timeout=5) as c:
            cur = c.execute(query)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []


@pytest.fixture(scope="module")
def replica(fault_servers: Servers, fault_dir: Path) -> Iterator[Replica]:
    fault_servers.ensure_running()
    r = Replica(fault_servers, fault_dir / "replica")
    try:
        yield r
    finally:
        r.stop()


def reads(base: str) -> dict[tuple[str, str], float]:
    """vncomply_db_reads_total by (target, reason), from /metrics."""
    out: dict[tuple[str, str], float] = {}
    for line in httpx.get(f"{base}/metrics", timeout=10).text.splitlines():
        if line.startswith("vncomply_db_reads_total{"):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', line))
            out[(labels["target"], labels["reason"])] = float(line.rsplit(" ", 1)[1])
    return out


def to(base: str, target: str) -> float:
    return sum(v for (t, _), v in reads(base).items() if t == target)


def block(world: World, account: str) -> None:
    r = httpx.post(
        f"{world.base}/v1/account-blocks",
        headers=auth(world.authority_key),
        json={
            "platform_id": world.tenant.platform_id,
            "subject_type": "account",
            "subject_id": account,
            "duration_days": 7,
            "category": "fraud",
            "reason": "Repeated fraudulent investment offers",
            "legal_basis": "Decree 147/2024 Art. 24",
            "reference_no": f"BL-{uuid.uuid4().hex[:8]}",
        },
        timeout=30,
    )
    assert r.status_code == 201, r.text


def denial_after_block(world: World, account: str, watch: float = 2 * MAX_LAG) -> tuple[float | None, int]:
    """Order a block, then check the account continuously for ``watch`` seconds. Returns when the
    first "blocked" came back (seconds after the order's 201), and how many checks that *started*
    more than MAX_LAG after the 201 still allowed posting (the bound says: none)."""
    block(world, account)
    ordered = time.monotonic()
    first: float | None = None
    late_allowed = 0
    with httpx.Client(base_url=world.base, headers=auth(world.tenant.platform_key), timeout=10) as c:
        while time.monotonic() - ordered < watch:
            started = time.monotonic()
            r = c.get(f"/v1/accounts/{account}/permissions")
            assert r.status_code == 200, r.text
            denied = r.json()["actions"]["post"]["reason"] == "blocked"
            if denied and first is None:
                first = time.monotonic() - ordered
            if not denied and started - ordered > MAX_LAG:
                late_allowed += 1
    return first, late_allowed


def test_checks_read_the_replica_and_see_a_block_within_the_bound(
    make_stack: StackFactory, replica: Replica
) -> None:
    with make_stack() as s:
        db = s.db_url.rpartition("/")[2]
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        s.procs.api(port, {"VNCOMPLY_DATABASE_READ_URL": with_db(replica.url, db)})
        world = build(base, platforms=1, accounts=10)
        accounts = world.tenant.accounts
        with checking(CheckLoad(base, world.tenant.platform_key, accounts[3:], concurrency=2)) as load:
            wait_for("reads on the replica", lambda: to(base, "replica") > 100, 30)
            streaming, late = denial_after_block(world, accounts[0])
            paused_at = reads(base)
            replica.sql(db, "SELECT pg_wal_replay_pause()")
            try:
                paused, paused_late = denial_after_block(world, accounts[1], watch=3 * MAX_LAG)
                during_pause = reads(base)
            finally:
                replica.sql(db, "SELECT pg_wal_replay_resume()")
            resumed = time.monotonic()
            back = wait_for(
                "reads back on the replica",
                lambda: to(base, "replica") > during_pause.get(("replica", "fresh"), 0) + 50,
                30,
            )
            del resumed
        stale = during_pause.get(("primary", "stale"), 0) - paused_at.get(("primary", "stale"), 0)
        print(
            f"\nreplica: {load.summary()}; reads {reads(base)}; a block denied the account "
            f"{streaming:.2f} s after its 201 while streaming and {paused:.2f} s with replay paused "
            f"(bound {MAX_LAG} s; checks still allowed past the bound: {late}, {paused_late}); "
            f"{stale:.0f} reads sent to the primary while paused; back on the replica {back:.1f} s "
            f"after replay resumed"
        )
        assert set(load.statuses()) == {200}
        assert streaming is not None
        assert paused is not None
        assert late == 0
        assert paused_late == 0
        assert stale > 0


def test_replica_stopped_mid_load(make_stack: StackFactory, replica: Replica) -> None:
    with make_stack() as s:
        db = s.db_url.rpartition("/")[2]
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        s.procs.api(port, {"VNCOMPLY_DATABASE_READ_URL": with_db(replica.url, db)})
        world = build(base, platforms=1, accounts=10)
        with checking(
            CheckLoad(base, world.tenant.platform_key, world.tenant.accounts, concurrency=3)
        ) as load:
            wait_for("reads on the replica", lambda: to(base, "replica") > 100, 30)
            replica.stop()
            down = time.monotonic()
            try:
                before = to(base, "primary")
                wait_for("reads on the primary", lambda: to(base, "primary") > before + 100, 30)
                time.sleep(1)
                while_down = reads(base)
            finally:
                replica.start()
            up = time.monotonic()
            on_replica = while_down.get(("replica", "fresh"), 0)
            back = wait_for("reads back on the replica", lambda: to(base, "replica") > on_replica + 50, 60)
        during = [a for a in load.answers if down <= a.started <= up]
        print(
            f"\nreplica stopped {up - down:.1f} s mid-load: {load.summary()} ({len(during)} while it "
            f"was down); reads while down {while_down}; back on the replica {back:.1f} s after it "
            f"restarted"
        )
        assert during
        assert set(load.statuses()) == {200}
        assert (
            while_down.get(("primary", "replica_unreachable"), 0)
            + while_down.get(("primary", "replica_failed"), 0)
            > 0
        )


async def test_report_sessions_read_the_replica_only_while_it_is_fresh(
    make_stack: StackFactory, replica: Replica, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``kit.replica.read_session`` (for the reports): on the replica while fresh, on the primary
    once replay has been paused for longer than the bound."""
    import asyncio

    from sqlalchemy import text

    from vncomply.config import reset_settings
    from vncomply.kit import db as dbmod
    from vncomply.kit import replica as replica_mod

    with make_stack() as s:
        name = s.db_url.rpartition("/")[2]
        monkeypatch.setenv("VNCOMPLY_DATABASE_URL", s.db_url)
        monkeypatch.setenv("VNCOMPLY_DATABASE_READ_URL", with_db(replica.url, name))
        monkeypatch.setenv("VNCOMPLY_READ_MAX_LAG_SECONDS", str(MAX_LAG))
        reset_settings()
        dbmod.use_sessionmaker(None)

        async def on_replica() -> bool:
            async with replica_mod.read_session() as session:
                return bool((await session.execute(text("SELECT pg_is_in_recovery()"))).scalar())

        try:
            deadline = time.monotonic() + 30
            while not await replica_mod.fresh():  # the first probes measure the replica
                assert time.monotonic() < deadline, "the replica never became fresh"
                await asyncio.sleep(0.05)
            fresh = await on_replica()
            replica.sql(name, "SELECT pg_wal_replay_pause()")
            try:
                # Something to replay, so the paused replica falls behind the primary.
                await dbmod.primary_rows("SELECT pg_current_wal_lsn()", {})
                s.sql("CREATE TABLE lag_marker (id int)")
                deadline = time.monotonic() + 10 * MAX_LAG
                while await replica_mod.fresh():
                    assert time.monotonic() < deadline, "a paused replica stayed fresh"
                    await asyncio.sleep(0.05)
                paused = await on_replica()
            finally:
                replica.sql(name, "SELECT pg_wal_replay_resume()")
        finally:
            await dbmod.dispose_engine()
            monkeypatch.undo()
            reset_settings()
        print(f"\nreport session on the replica while fresh: {fresh}; with replay paused: {paused}")
        assert fresh is True
        assert paused is False
