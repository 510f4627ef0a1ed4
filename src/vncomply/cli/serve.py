"""The production processes: `vncomply migrate`, `api`, `worker` and `beat` (what
docker-compose.yml runs, and what `vncomply up` supervises)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vncomply.cli.common import (
    bootstrap_key,
    register_bootstrap_key,
    require_database,
    run_migrations,
    settings,
)


def migrate() -> None:
    """Upgrade the database to the latest schema (alembic upgrade head), then register
    VNCOMPLY_BOOTSTRAP_ADMIN_KEY as an admin key if it is set and not yet known."""
    raw = bootstrap_key()  # a key the API would refuse fails before anything is migrated
    run_migrations(require_database())
    if raw and register_bootstrap_key(raw):
        typer.echo("registered VNCOMPLY_BOOTSTRAP_ADMIN_KEY as an admin key")


def api(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
    access_log: Annotated[bool, typer.Option(help="Log every request (uvicorn access log).")] = True,
) -> None:
    """Serve the HTTP API with uvicorn (uvloop + httptools)."""
    import uvicorn

    require_database()
    uvicorn.run(
        "vncomply.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=access_log,
        proxy_headers=True,
        timeout_graceful_shutdown=5,
    )


def worker(
    concurrency: Annotated[int, typer.Option(help="Prefork pool processes.", min=1)] = 2,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """Run a Celery worker (prefork pool) for the background tasks."""
    settings()
    from vncomply.worker import celery_app

    celery_app.worker_main(
        argv=[
            "worker",
            f"--loglevel={loglevel}",
            "--pool=prefork",
            f"--concurrency={concurrency}",
            # Tasks are short sweeps; no gossip/mingle chatter between workers.
            "--without-gossip",
            "--without-mingle",
        ]
    )


def beat(
    schedule: Annotated[
        Path,
        typer.Option(help="Beat's schedule file. It holds no deadline state (PostgreSQL does)."),
    ] = Path("/tmp/vncomply-celerybeat-schedule"),  # noqa: S108 - disposable, see help
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """Run Celery beat: the heartbeat, audit sealing and the deadline sweeps. Run exactly one."""
    settings()
    from vncomply.worker import celery_app

    celery_app.start(argv=["beat", f"--loglevel={loglevel}", f"--schedule={schedule}"])
