"""``vncomply keys`` sub-commands that work on stored PII (mounted beside ``keys generate`` by the
main CLI, `vncomply.cli.keys`).

The rotation machinery (models, SQLAlchemy) is imported inside the functions, so ``--help`` stays
fast.
"""

from __future__ import annotations

import asyncio

import typer

app = typer.Typer(help="Field-encryption keys: rotate.", no_args_is_help=True)


@app.command()
def rotate(
    batch_size: int = typer.Option(500, min=1, max=10_000, help="rows per transaction"),
) -> None:
    """Bring all PII under the current keys: re-encrypt under the active field key
    (VNCOMPLY_FIELD_KEY_ACTIVE, else the last key) and re-index phone and ID numbers under
    VNCOMPLY_BLIND_INDEX_KEY (keep the old one in VNCOMPLY_BLIND_INDEX_KEY_PREVIOUS meanwhile).

    Each batch commits on its own, so an interrupted run resumes where it stopped.
    """
    asyncio.run(rotate_all(batch_size))


async def rotate_all(batch_size: int) -> None:
    """Rotate every row, one transaction per batch of ``batch_size``, with a progress bar; prints
    the keys everything is under at the end."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from vncomply.identities import rotation
    from vncomply.kit.db import dispose_engine, session_scope

    run = rotation.Rotation()
    try:
        async with session_scope() as s:
            total = await run.remaining(s)
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        ) as progress:
            task = progress.add_task(f"rotating to key {run.keyring.active_key_id}", total=total)
            while True:
                async with session_scope() as s:
                    changed, scanned = await run.step(s, batch_size)
                if scanned == 0:
                    break
                progress.advance(task, changed)
    finally:
        await dispose_engine()
    typer.echo(
        f"done: every row is under field key {run.keyring.active_key_id} and blind-index key "
        f"{run.fingerprint} (fingerprint); VNCOMPLY_BLIND_INDEX_KEY_PREVIOUS can now be removed"
    )
