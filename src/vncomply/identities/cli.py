"""``vncomply keys`` sub-commands (mounted by the main CLI)."""

from __future__ import annotations

import asyncio

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from vncomply.crypto import generate_key
from vncomply.db import dispose_engine, session_scope
from vncomply.identities import rotation
from vncomply.identities.keys import ring

app = typer.Typer(help="Field-encryption keys: generate, rotate.", no_args_is_help=True)


@app.command()
def generate() -> None:
    """Print a new random 32-byte key (base64url) for VNCOMPLY_FIELD_KEYS or the blind-index key."""
    typer.echo(generate_key())


@app.command()
def rotate(
    batch_size: int = typer.Option(500, min=1, max=10_000, help="rows per transaction"),
) -> None:
    """Re-encrypt all PII under the active key (VNCOMPLY_FIELD_KEY_ACTIVE, else the last key).

    Each batch commits on its own, so an interrupted run resumes where it stopped.
    """
    asyncio.run(_rotate(batch_size))


async def _rotate(batch_size: int) -> None:
    kr = ring()
    try:
        async with session_scope() as s:
            total = await rotation.remaining(s, kr)
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        ) as progress:
            task = progress.add_task(f"re-encrypting under {kr.active_key_id}", total=total)
            while True:
                async with session_scope() as s:
                    n = await rotation.rotate_batch(s, batch_size, kr)
                if n == 0:
                    break
                progress.advance(task, n)
    finally:
        await dispose_engine()
    typer.echo(f"done: every row is under key {kr.active_key_id}")
