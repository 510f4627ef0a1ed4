"""`vncomply up`: the developer's one command.

With no VNCOMPLY_DATABASE_URL / VNCOMPLY_REDIS_URL it starts embedded PostgreSQL and Redis under
`./.vncomply/`, migrates, makes sure an admin key exists, and runs the API, a Celery worker and
beat as supervised child processes until Ctrl-C. The children are started through this same
command (`api`, `worker`, `beat`), exactly as in production.

It never harms a running instance: while another `up` holds the state directory (`instance.py`),
or when the API port is taken, it refuses before starting, stopping or migrating anything.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vncomply.cli.common import (
    bootstrap_key,
    cli_actor,
    fail,
    in_session,
    register_bootstrap_key,
    run_migrations,
    settings,
    write_private,
)
from vncomply.cli.instance import AlreadyRunning, Claim, Instance, claim

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from vncomply.embedded import Supervisor

STATE_DIR = Path(".vncomply")
ADMIN_KEY_FILE = "admin-key"


def _exports(database_url: str, redis_url: str) -> str:
    """The lines another shell needs to run vncomply commands against an instance."""
    return f"    export VNCOMPLY_DATABASE_URL={database_url}\n    export VNCOMPLY_REDIS_URL={redis_url}\n"


def _already_running_message(state_dir: Path, running: Instance | None) -> str:
    """Where the instance holding ``state_dir`` is and how to stop it."""
    pid = f" (pid {running.pid})" if running else ""
    lines = [
        f"vncomply is already running from {state_dir}/{pid}; nothing was started, stopped or migrated.\n"
    ]
    if running is not None:
        lines.append(f"  its docs: {running.docs_url}\n")
        if running.database_url and running.redis_url:
            lines.append("  other vncomply commands against it need:\n")
            lines.append(_exports(running.database_url, running.redis_url))
        else:
            lines.append("  it is still starting; run this again for its export lines\n")
    stop = f", or `kill {running.pid}`" if running else ""
    lines.append(
        f"  to stop it: Ctrl-C in its terminal{stop}; to run a second instance beside it, give "
        "this one its own --state-dir and --port\n"
    )
    return "".join(lines).rstrip("\n")


@contextlib.contextmanager
def _servers(state: Path) -> Iterator[tuple[str, str]]:
    """The configured servers, or embedded ones for whichever URL is unset."""
    s = settings()
    if s.database_url and s.redis_url:
        yield s.database_url, s.redis_url
        return
    from vncomply.embedded import embedded_services, start_postgres, start_redis

    if not s.database_url and not s.redis_url:
        typer.echo(f"starting embedded PostgreSQL and Redis under {state}/ …")
        with embedded_services(state) as urls:
            yield urls
        return
    with contextlib.ExitStack() as stack:
        if s.database_url:
            db_url = s.database_url
        else:
            typer.echo(f"starting embedded PostgreSQL under {state}/pg …")
            db_url = stack.enter_context(start_postgres(state.resolve() / "pg")).url
        if s.redis_url:
            redis_url = s.redis_url
        else:
            typer.echo(f"starting embedded Redis under {state}/redis …")
            redis_url = stack.enter_context(start_redis(state.resolve() / "redis")).url
        yield db_url, redis_url


async def _dev_admin_key(session: AsyncSession, saved: str | None) -> str | None:
    """The admin key to show: the one saved by an earlier `up` if still valid, else a new one
    when no usable admin key exists (the caller saves it). None when admin keys exist that we
    cannot show."""
    from sqlalchemy import or_, select

    from vncomply.auth.models import ApiKey
    from vncomply.auth.service import authenticate, create_key
    from vncomply.kit import clock
    from vncomply.kit.principal import Role

    if saved:
        principal = await authenticate(saved)
        if principal is not None and principal.role is Role.admin:
            return saved
    usable = await session.scalar(
        select(ApiKey.id)
        .where(ApiKey.role == Role.admin.value, ApiKey.revoked_at.is_(None))
        .where(or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > clock.now()))
        .limit(1)
    )
    if usable is not None:
        return None
    _, raw = await create_key(session, cli_actor(), role=Role.admin, name="dev admin (vncomply up)")
    return raw


def _admin_line(state_dir: Path, bootstrap: str | None) -> str:
    """Make sure an admin key exists; the banner's line about it."""
    if bootstrap:
        register_bootstrap_key(bootstrap)
        return f"admin key: the value of VNCOMPLY_BOOTSTRAP_ADMIN_KEY ({bootstrap[:8]}…)"
    key_file = state_dir / ADMIN_KEY_FILE
    saved = key_file.read_text().strip() if key_file.is_file() else None
    raw = in_session(lambda s: _dev_admin_key(s, saved))
    if raw and raw != saved:
        write_private(key_file, raw)
    if raw:
        return f"admin key: {raw}  (saved in {key_file})"
    return "admin key: admin keys already exist; make another with `vncomply api-key create --role admin`"


def _child_env(db_url: str, redis_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        VNCOMPLY_DATABASE_URL=db_url,
        VNCOMPLY_REDIS_URL=redis_url,
        PYTHONUNBUFFERED="1",
    )
    return env


READY_TIMEOUT = 180.0


def _announce_when_ready(supervisor: Supervisor, base: str, text: str) -> None:
    """Print ``text`` once the API is ready and beat's tasks reach the worker (the heartbeat has
    run), i.e. when every child has said what it says on starting."""
    import httpx

    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                metrics = httpx.get(f"{base}/metrics", timeout=5).text
                if _heartbeat_seen(metrics):
                    supervisor.emit(text)
                    return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)


def _heartbeat_seen(metrics: str) -> bool:
    for line in metrics.splitlines():
        if line.startswith("vncomply_beat_heartbeat_age_seconds "):
            return float(line.split()[1]) >= 0
    return False


def up(
    host: Annotated[str, typer.Option(help="Interface the API binds.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="API port.", min=1, max=65535)] = 8000,
    state_dir: Annotated[
        Path, typer.Option(help="Embedded servers' data, the dev admin key, beat's schedule.")
    ] = STATE_DIR,
) -> None:
    """Run everything: embedded PostgreSQL + Redis (unless their URLs are set), migrations, an
    admin key, then the API, a Celery worker and beat until Ctrl-C. A second `up` keeps the data."""
    bootstrap = bootstrap_key()  # before starting anything: a bad key fails fast
    state_dir.mkdir(parents=True, exist_ok=True)
    try:
        with claim(state_dir, host, port) as instance:
            code = _run(instance, bootstrap)
    except AlreadyRunning as exc:
        raise fail(_already_running_message(state_dir, exc.running)) from None
    raise typer.Exit(code)


def _run(instance: Claim, bootstrap: str | None) -> int:
    """`up` once it holds the state directory; returns the exit status."""
    from vncomply.config import reset_settings
    from vncomply.embedded import Supervisor
    from vncomply.embedded.server import can_bind

    host, port, state_dir = instance.me.host, instance.me.port, instance.state_dir
    if not can_bind(host, port):
        raise fail(
            f"port {port} on {host} is already in use by another program; stop it, or give "
            "`vncomply up` another port with --port"
        )
    with _servers(state_dir) as (db_url, redis_url):
        instance.servers_started(db_url, redis_url)
        os.environ.update(VNCOMPLY_DATABASE_URL=db_url, VNCOMPLY_REDIS_URL=redis_url)
        reset_settings()
        typer.echo("migrating …")
        run_migrations(db_url)
        admin_line = _admin_line(state_dir, bootstrap)
        banner = (
            f"  {admin_line}\n"
            "  other vncomply commands against this instance need:\n"
            f"{_exports(db_url, redis_url)}"
            "  Ctrl-C stops everything.\n"
        )
        typer.echo(f"\n  vncomply is starting: {instance.me.docs_url}\n{banner}")
        me = [sys.executable, "-m", "vncomply.cli"]
        env = _child_env(db_url, redis_url)
        schedule = (state_dir / "celerybeat-schedule").resolve()
        supervisor = Supervisor(
            [
                ("api", [*me, "api", "--host", host, "--port", str(port)], env),
                ("worker", [*me, "worker"], env),
                ("beat", [*me, "beat", "--schedule", str(schedule)], env),
            ]
        )
        # Said again once everything runs, below the children's start-up lines: idle, nothing
        # follows it (kit/tasklogs.py), so it stays on screen.
        ready = instance.me.docs_url.removesuffix("/docs")
        announcer = threading.Thread(
            target=_announce_when_ready,
            args=(supervisor, ready, f"\n  vncomply is ready: {instance.me.docs_url}\n{banner}"),
            name="announce",
            daemon=True,
        )
        announcer.start()
        code = supervisor.run()
        typer.echo("stopped" if code == 0 else f"a child process failed ({code}); stopped the rest")
    return code
