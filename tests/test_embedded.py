"""Embedded PostgreSQL/Redis and the process supervisor, exercised for real (no mocks).

Every test checks the one property that matters most for `vncomply up`: after stop/Ctrl-C no
process is left behind. Processes are found by scanning /proc, so these tests are Linux-only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg
import pytest
import redis

from vncomply.embedded import EmbeddedServer, embedded_services, start_postgres, start_redis

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc"),
]

SRC = Path(__file__).resolve().parents[1] / "src"


def _alive(pid: int) -> bool:
    """Exists and is not a zombie: in containers PID 1 may never reap orphans, and a zombie is
    not a running server."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


def _live_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and _alive(int(p))]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def _children(ppid: int) -> list[int]:
    out = []
    for pid in _live_pids():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(stat[stat.rfind(")") + 2 :].split()[1]) == ppid:
            out.append(pid)
    return out


def _processes_mentioning(text: str) -> list[int]:
    return [pid for pid in _live_pids() if text in _cmdline(pid)]


def _redis_servers_in(data_dir: Path) -> list[int]:
    """redis-server shows `host:port` as its title, so identify ours by working directory."""
    found = []
    for pid in _live_pids():
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if "redis-server" in _cmdline(pid) and cwd == str(data_dir.resolve()):
            found.append(pid)
    return found


def _wait_until(predicate: object, timeout: float = 10.0) -> bool:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def _libpq_url(server: EmbeddedServer) -> str:
    return server.url.replace("postgresql+psycopg://", "postgresql://", 1)


def test_postgres_starts_persists_and_stops_cleanly(server_dir: Path) -> None:
    data_dir = server_dir / "pg"

    server = start_postgres(data_dir)
    try:
        assert server.url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
        assert server.url.endswith("/vncomply")
        assert ":5432/" not in server.url
        family = [server.pid, *_children(server.pid)]
        assert len(family) > 1  # postmaster plus its auxiliary processes
        with psycopg.connect(_libpq_url(server), autocommit=True) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
            conn.execute("create table kept (v text)")
            conn.execute("insert into kept values ('xin chào')")
            # builtin C.UTF-8 provider: case mapping works beyond ASCII
            assert conn.execute("select upper('đ')").fetchone() == ("Đ",)
    finally:
        server.stop()
    server.stop()  # idempotent

    assert not [pid for pid in family if _alive(pid)]
    assert _processes_mentioning(str(data_dir)) == []

    started = time.monotonic()
    again = start_postgres(data_dir)
    try:
        warm_start = time.monotonic() - started
        assert warm_start < 30
        with psycopg.connect(_libpq_url(again)) as conn:
            assert conn.execute("select v from kept").fetchall() == [("xin chào",)]
        # The same port as before: the `export VNCOMPLY_DATABASE_URL=…` a developer copied from
        # the last `make run` still works.
        assert again.url == server.url
    finally:
        again.stop()
    assert _processes_mentioning(str(data_dir)) == []


def test_postgres_recovers_from_a_server_left_running(server_dir: Path) -> None:
    """A run killed with -9 leaves the postmaster running (it has its own session)."""
    data_dir = server_dir / "pg"
    orphan = start_postgres(data_dir)
    orphan_pid = orphan.pid
    # Simulate the owning process vanishing: forget the handle without stopping it.
    import atexit

    atexit.unregister(orphan._atexit_stop)

    server = start_postgres(data_dir)
    try:
        assert not _alive(orphan_pid)
        with psycopg.connect(_libpq_url(server)) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
    finally:
        server.stop()
    assert _processes_mentioning(str(data_dir)) == []


def test_redis_starts_persists_and_stops_cleanly(server_dir: Path) -> None:
    data_dir = server_dir / "redis"

    server = start_redis(data_dir)
    try:
        assert server.url.startswith("redis://127.0.0.1:")
        assert server.url.endswith("/0")
        assert ":6379/" not in server.url
        client = redis.Redis.from_url(server.url)
        client.set("greeting", "xin chào")
        assert client.get("greeting") == "xin chào".encode()
        client.close()
    finally:
        server.stop()
    server.stop()

    assert not _alive(server.pid)
    assert _redis_servers_in(data_dir) == []

    again = start_redis(data_dir)
    try:
        client = redis.Redis.from_url(again.url)
        assert client.get("greeting") == "xin chào".encode()  # written to dump.rdb on SIGTERM
        client.close()
        assert again.url == server.url  # the same port as before
    finally:
        again.stop()
    assert not _alive(again.pid)
    assert _redis_servers_in(data_dir) == []


def test_embedded_services_stops_both_on_exception(server_dir: Path) -> None:
    pids: list[int] = []

    def use_then_fail() -> None:
        with embedded_services(server_dir) as (db, rd):
            assert db.startswith("postgresql+psycopg://")
            assert rd.startswith("redis://")
            pids.extend(_processes_mentioning(str(server_dir / "pg")))
            pids.extend(_redis_servers_in(server_dir / "redis"))
            assert len(pids) == 2
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        use_then_fail()
    assert pids
    assert not [p for p in pids if _alive(p)]


SUPERVISOR_SCRIPT = textwrap.dedent(
    """
    import sys
    from vncomply.embedded import Supervisor

    tmp = sys.argv[1]
    py = sys.executable
    sleeper = (
        "import os, time, pathlib;"
        f"pathlib.Path({tmp!r}, 'sleeper').write_text(str(os.getpid()));"
        "print('ready', flush=True); time.sleep(120)"
    )
    spawner = (
        "import os, subprocess, sys, time, pathlib;"
        "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']);"
        f"pathlib.Path({tmp!r}, 'spawner').write_text(f'{{os.getpid()}} {{g.pid}}');"
        "print('spawned', flush=True); time.sleep(120)"
    )
    children = [("sleeper", [py, "-c", sleeper], None), ("spawner", [py, "-c", spawner], None)]
    if len(sys.argv) > 2 and sys.argv[2] == "stubborn":
        stubborn = (
            "import os, signal, time, pathlib;"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN);"
            f"pathlib.Path({tmp!r}, 'stubborn').write_text(str(os.getpid()));"
            "time.sleep(120)"
        )
        children.append(("stubborn", [py, "-c", stubborn], None))
    if len(sys.argv) > 2 and sys.argv[2] == "crash":
        crash = "import time; time.sleep(1); raise SystemExit(3)"
        children.append(("crash", [py, "-c", crash], None))
    sys.exit(Supervisor(children, stop_timeout=2.0).run())
    """
)


def _start_supervisor(server_dir: Path, mode: str = "") -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR_SCRIPT, str(server_dir), mode],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _child_pids(server_dir: Path, names: list[str]) -> list[int]:
    assert _wait_until(lambda: all((server_dir / n).exists() for n in names), 20)
    # the file may exist but be empty for an instant
    assert _wait_until(lambda: all((server_dir / n).read_text() for n in names), 5)
    return [int(p) for n in names for p in (server_dir / n).read_text().split()]


def test_supervisor_stops_children_and_grandchildren_on_sigint(server_dir: Path) -> None:
    sup = _start_supervisor(server_dir)
    try:
        pids = _child_pids(server_dir, ["sleeper", "spawner"])
        assert len(pids) == 3
        assert all(_alive(p) for p in pids)
        sup.send_signal(signal.SIGINT)
        out, _ = sup.communicate(timeout=30)
    finally:
        if sup.poll() is None:
            sup.kill()
    assert sup.returncode == 0, out
    assert "[sleeper] ready" in out
    assert "[spawner] spawned" in out
    assert _wait_until(lambda: not any(_alive(p) for p in pids), 5)


def test_supervisor_kills_children_that_ignore_sigterm(server_dir: Path) -> None:
    sup = _start_supervisor(server_dir, "stubborn")
    try:
        pids = _child_pids(server_dir, ["sleeper", "spawner", "stubborn"])
        sup.send_signal(signal.SIGTERM)
        out, _ = sup.communicate(timeout=30)
    finally:
        if sup.poll() is None:
            sup.kill()
    assert sup.returncode == 0, out
    assert "stubborn did not stop in time" in out
    assert _wait_until(lambda: not any(_alive(p) for p in pids), 5)


def test_supervisor_stops_everything_when_a_child_dies(server_dir: Path) -> None:
    sup = _start_supervisor(server_dir, "crash")
    try:
        pids = _child_pids(server_dir, ["sleeper", "spawner"])
        out, _ = sup.communicate(timeout=30)
    finally:
        if sup.poll() is None:
            sup.kill()
    assert sup.returncode == 3, out
    assert "[supervisor] crash exited with status 3" in out
    assert _wait_until(lambda: not any(_alive(p) for p in pids), 5)
