"""`vncomply up` for real: embedded PostgreSQL and Redis (no URLs configured), API + worker + beat,
`/readyz` and `/docs` answering, then Ctrl-C (SIGINT) leaving no process behind. A second `up`
keeps the data: the same admin key still works."""

from __future__ import annotations

import contextlib
import os
import re
import signal
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


def _ours(root_pid: int, marker: str) -> dict[int, str]:
    """`up` and its descendants, plus anything whose command line names our directory (the
    embedded servers detach from `up`), plus their descendants (PostgreSQL backends)."""
    live = _live()
    seeds = {root_pid} | {pid for pid, (_, cmd) in live.items() if marker in cmd}
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


def _start(cwd: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VNCOMPLY_")}
    env["PYTHONUNBUFFERED"] = "1"
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "vncomply.cli", "up", "--port", str(port)],
            cwd=cwd,
            env=env,
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


def _kill_leftovers(snapshot: dict[int, str]) -> None:
    for pid in _still_running(snapshot):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _run_once(cwd: Path, log: Path) -> str:
    """Start `up`, check it serves, Ctrl-C it, check nothing is left; returns the admin key."""
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
        deadline = time.monotonic() + 30
        while True:
            snapshot = _ours(proc.pid, str(cwd))
            cmds = " ".join(snapshot.values())
            kinds = {k for k in ("postgres", "redis-server", " api ", " worker", " beat ") if k in cmds}
            if len(kinds) == 5 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert len(kinds) == 5, snapshot
        # Celery's prefork pool: grandchildren of `up`, the processes most easily orphaned.
        assert len(snapshot) >= 8, snapshot

        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=STOP_TIMEOUT)
        assert proc.returncode == 0, log.read_text()[-5000:]
        # Nothing of ours survives: the snapshot, and anything new naming our directory.
        assert _still_running(snapshot) == {}
        assert _ours(proc.pid, str(cwd)) == {}
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{base}/healthz", timeout=2)
        return key
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        _kill_leftovers(snapshot or _ours(proc.pid, str(cwd)))


def test_up_serves_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    log = tmp_path / "up.log"
    first = _run_once(tmp_path, log)
    assert (tmp_path / ".vncomply" / "admin-key").stat().st_mode & 0o777 == 0o600
    # A second `up` keeps the data: same database, same admin key, shown again.
    second = _run_once(tmp_path, log)
    assert second == first
