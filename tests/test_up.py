"""`vncomply up` for real: embedded PostgreSQL and Redis (no URLs configured), API + worker + beat,
`/readyz` and `/docs` answering, then Ctrl-C (SIGINT) leaving no process behind. A second `up`
keeps the data: the same admin key still works. A second `up` while the first runs, or on a taken
port, refuses before touching anything."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.factories import auth, free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc"),
]

READY_TIMEOUT = 180.0  # the first start runs initdb
STOP_TIMEOUT = 90.0


def _stat(pid: int) -> tuple[str, int] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = raw[raw.rfind(")") + 2 :].split()
    return fields[0], int(fields[1])


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return ""


def _live() -> dict[int, tuple[int, str]]:
    """pid → (ppid, cmdline) of every live (non-zombie) process."""
    out = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and (st := _stat(int(name))) is not None and st[0] not in "ZX":
            out[int(name)] = (st[1], _cmdline(int(name)))
    return out


def _ours(root_pid: int | None, marker: str) -> dict[int, str]:
    """`up` and its descendants, plus anything whose command line names our directory (the
    embedded servers detach from `up`), plus their descendants (PostgreSQL backends)."""
    live = _live()
    seeds = ({root_pid} if root_pid else set()) | {pid for pid, (_, cmd) in live.items() if marker in cmd}
    found: set[int] = set()
    frontier = {p for p in seeds if p in live}
    while frontier:
        found |= frontier
        frontier = {pid for pid, (ppid, _) in live.items() if ppid in frontier} - found
    return {pid: live[pid][1] for pid in found}


def _still_running(snapshot: dict[int, str]) -> dict[int, str]:
    live = _live()
    # Same pid *and* same command line: a recycled pid is someone else's process.
    return {pid: cmd for pid, cmd in snapshot.items() if pid in live and live[pid][1] == cmd}


def _env() -> dict[str, str]:
    """No configured servers: `up` starts embedded ones under its working directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VNCOMPLY_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _up(port: int) -> list[str]:
    return [sys.executable, "-m", "vncomply.cli", "up", "--port", str(port)]


def _start(cwd: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            _up(port),
            cwd=cwd,
            env=_env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # our Ctrl-C stand-in goes to `up` alone, as in a terminal
        )


def _wait_ready(proc: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"`vncomply up` exited with {proc.returncode}:\n{log.read_text()[-5000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"/readyz not 200 after {READY_TIMEOUT}s:\n{log.read_text()[-5000:]}")


def _every_process(proc: subprocess.Popen[bytes], cwd: Path) -> dict[int, str]:
    """`up`'s processes once every kind of child is running (to check none survives a stop)."""
    deadline = time.monotonic() + 30
    while True:
        snapshot = _ours(proc.pid, str(cwd))
        cmds = " ".join(snapshot.values())
        kinds = {k for k in ("postgres", "redis-server", " api ", " worker", " beat ") if k in cmds}
        if len(kinds) == 5 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(kinds) == 5, snapshot
    return snapshot


def _stop(proc: subprocess.Popen[bytes], cwd: Path, snapshot: dict[int, str], log: Path) -> None:
    """Ctrl-C `up`; it exits 0 and nothing of ours survives: the snapshot, and anything new
    naming our directory."""
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=STOP_TIMEOUT)
    assert proc.returncode == 0, log.read_text()[-5000:]
    assert _still_running(snapshot) == {}
    assert _ours(proc.pid, str(cwd)) == {}
    assert not (cwd / ".vncomply" / "up.json").exists()  # says nothing about a stopped instance


def _up_that_should_refuse(cwd: Path, port: int) -> tuple[int, str, str]:
    """Run an `up` expected to exit by itself at once; (status, stdout, stderr). If it runs on
    instead, it and whatever it started are killed: a failing test leaves nothing behind."""
    proc = subprocess.Popen(
        _up(port),
        cwd=cwd,
        env=_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        strays = _ours(proc.pid, str(cwd))
        proc.kill()
        proc.communicate()
        _kill_leftovers(strays)
        pytest.fail(f"`vncomply up --port {port}` did not refuse: it ran on")
    return proc.returncode, out, err


def _kill_leftovers(snapshot: dict[int, str]) -> None:
    for pid in _still_running(snapshot):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _wait_for_line(proc: subprocess.Popen[bytes], log: Path, needle: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while needle not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"`vncomply up` never printed {needle!r}:\n{log.read_text()[-5000:]}")
        time.sleep(0.5)


# Celery's INFO lines about the scheduled tasks: a few a second on an idle system, if let through.
ROUTINE = re.compile(r"INFO/\w+\] (Task vncomply\.|Scheduler: Sending due task)")


def _run_once(cwd: Path, log: Path) -> tuple[str, list[str]]:
    """Start `up`, check it serves, Ctrl-C it, check nothing is left; returns the admin key and
    the export lines it printed."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log.write_text("")
    proc = _start(cwd, port, log)
    snapshot: dict[int, str] = {}
    try:
        _wait_ready(proc, base, log)
        assert httpx.get(f"{base}/docs", timeout=5).status_code == 200
        assert httpx.get(f"{base}/openapi.json", timeout=5).json()["info"]["title"] == "vncomply"
        match = re.search(r"admin key: (vnc_\S+)", log.read_text())
        assert match, log.read_text()
        key = match[1]
        assert httpx.get(f"{base}/v1/platforms", headers=auth(key), timeout=5).status_code == 200

        # Every kind of child is running, and we know them all before stopping.
        snapshot = _every_process(proc, cwd)
        # Celery's prefork pool: grandchildren of `up`, the processes most easily orphaned.
        assert len(snapshot) >= 8, snapshot
        # The banner again once every child has started (the heartbeat went through beat and the
        # worker), so the children's start-up lines do not push it off the screen…
        _wait_for_line(proc, log, "vncomply is ready:")

        _stop(proc, cwd, snapshot, log)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{base}/healthz", timeout=2)
        out = log.read_text()
        assert out.index("vncomply is ready:") > out.index("] celery@"), out[-5000:]
        # …and nothing routine follows it: the scheduled tasks ran (the heartbeat did) unannounced.
        assert not ROUTINE.search(out), ROUTINE.search(out)
        return key, re.findall(r"^\s+export VNCOMPLY_\w+=\S+$", out, re.M)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        _kill_leftovers(snapshot or _ours(proc.pid, str(cwd)))


def test_up_serves_and_ctrl_c_stops_everything(server_dir: Path) -> None:
    log = server_dir / "up.log"
    first = _run_once(server_dir, log)
    assert (server_dir / ".vncomply" / "admin-key").stat().st_mode & 0o777 == 0o600
    # A second `up` keeps the data: same database, same admin key, shown again; and the same
    # ports, so the export lines copied from the first run into another shell still work.
    second = _run_once(server_dir, log)
    assert second == first
    assert len(first[1]) == 4  # DATABASE and REDIS, in the starting and the ready banner


def test_a_second_up_refuses_and_leaves_the_running_one_alone(server_dir: Path) -> None:
    """A second `make run` in the same folder: it exits at once, pointing at the running instance
    (docs URL, export lines, how to stop it), and the first keeps its database."""
    log = server_dir / "up.log"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start(server_dir, port, log)
    snapshot: dict[int, str] = {}
    try:
        _wait_ready(proc, base, log)
        snapshot = _every_process(proc, server_dir)
        other = free_port()  # a free port of its own: the lock refuses it, not the port check
        code, out, err = _up_that_should_refuse(server_dir, other)
        assert code != 0, out
        assert f"vncomply is already running from .vncomply/ (pid {proc.pid})" in err, err
        assert "nothing was started, stopped or migrated" in err
        assert f"{base}/docs" in err
        assert "export VNCOMPLY_DATABASE_URL=postgresql+psycopg://" in err
        assert "export VNCOMPLY_REDIS_URL=redis://" in err
        assert f"Ctrl-C in its terminal, or `kill {proc.pid}`" in err
        assert "migrating" not in out
        assert "Traceback" not in err

        # The first instance is untouched: its database and Redis answer, its servers and
        # children still run (PostgreSQL backends come and go on their own, so they don't count).
        ready = httpx.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        lasting = {pid: cmd for pid, cmd in snapshot.items() if not cmd.startswith("postgres: ")}
        assert _still_running(lasting) == lasting
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{other}/healthz", timeout=2)

        _stop(proc, server_dir, snapshot, log)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        _kill_leftovers(snapshot or _ours(proc.pid, str(server_dir)))


def test_up_refuses_a_taken_port_before_starting_any_server(server_dir: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = _up_that_should_refuse(server_dir, port)
    leftovers = _ours(None, str(server_dir))
    _kill_leftovers(leftovers)
    assert code != 0, out
    assert f"port {port} on 127.0.0.1 is already in use" in err, err
    assert "--port" in err
    assert not (server_dir / ".vncomply" / "pg").exists()  # no server was started
    assert leftovers == {}
    assert not (server_dir / ".vncomply" / "up.json").exists()
