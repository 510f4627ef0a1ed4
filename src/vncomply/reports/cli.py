"""``vncomply retention``: the retention purge by hand (beat runs the same purges daily).

Mounted by the main CLI. Heavy modules are imported inside the command, so ``--help`` stays fast.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

retention_app = typer.Typer(
    help="Retention: purge the personal data of long-closed identities, delete old delivered events.",
    no_args_is_help=True,
)


@retention_app.command("run")
def run(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be purged; change nothing.")
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Rows per transaction.")] = 1000,
) -> None:
    """Purge the personal data of identities closed more than VNCOMPLY_RETENTION_MONTHS ago
    (ciphertexts and blind indexes; status and dates stay) and delete events whose deliveries ended
    more than VNCOMPLY_EVENT_RETENTION_DAYS ago. Each batch commits on its own: an interrupted run
    resumes where it stopped."""
    from vncomply.cli.common import database_errors, require_database, settings

    require_database()
    s = settings()
    with database_errors():
        asyncio.run(_run(dry_run, batch_size, s.retention_months, s.event_retention_days))


async def _run(dry_run: bool, batch: int, months: int, days: int) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from vncomply.events import retention as events
    from vncomply.identities import retention as identities
    from vncomply.kit import clock
    from vncomply.kit.batches import drain
    from vncomply.kit.db import dispose_engine, session_scope

    now = clock.now()  # one cut-off for the whole run
    try:
        async with session_scope() as s:
            n_identities = await identities.due(s, now, months)
            n_events = await events.due(s, now, days)
        if dry_run:
            typer.echo(
                f"dry run: would purge {n_identities} identities closed more than {months} months ago "
                f"and delete {n_events} events older than {days} days (with their deliveries); "
                "nothing was changed"
            )
            return
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        ) as progress:
            bar = progress.add_task("identities", total=n_identities)
            purged = await drain(
                lambda s: identities.purge_batch(s, now, months, batch),
                progress=lambda n: progress.advance(bar, n),
            )
            bar = progress.add_task("events", total=n_events)
            deleted = await drain(
                lambda s: events.purge_batch(s, now, days, batch), progress=lambda n: progress.advance(bar, n)
            )
    finally:
        await dispose_engine()
    typer.echo(f"done: purged {purged} identities; deleted {deleted} events")
