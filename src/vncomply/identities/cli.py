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
    passes: int = typer.Option(
        5, min=1, max=100, help="passes over the rows still under an old key (locked rows are retried)"
    ),
) -> None:
    """Bring every secret under the current keys: re-encrypt PII and webhook signing secrets under
    the active field key (VNCOMPLY_FIELD_KEY_ACTIVE, else the last key) and re-index phone and ID
    numbers under VNCOMPLY_BLIND_INDEX_KEY (keep the old one in VNCOMPLY_BLIND_INDEX_KEY_PREVIOUS
    meanwhile).

    Each batch commits on its own, so an interrupted run resumes where it stopped. Rows held by
    other transactions are passed over and retried in the next pass; exits 1, saying how many rows
    are left, while any row is still under an old key.
    """
    left = asyncio.run(rotate_all(batch_size, passes))
    if left:
        typer.echo(
            f"error: {left} row(s) are still under an old key (held by other transactions during "
            f"{passes} pass(es)); keep the old keys configured and run `vncomply keys rotate` again",
            err=True,
        )
        raise typer.Exit(1)


async def rotate_all(batch_size: int, passes: int = 5) -> int:
    """Rotate every row, one transaction per batch of ``batch_size``, with a progress bar; the rows
    still under an old key after ``passes`` passes (0 when done)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from vncomply.identities import rotation
    from vncomply.kit.db import dispose_engine, session_scope

    run = rotation.Rotation()
    try:
        async with session_scope() as s:
            total = await run.remaining(s)
            legacy = await rotation.legacy_open(s)
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        ) as progress:
            task = progress.add_task(f"rotating to key {run.keyring.active_key_id}", total=total)
            left = await rotation.rotate_all(
                batch_size, passes, run=run, on_step=lambda changed: progress.advance(task, changed)
            )
    finally:
        await dispose_engine()
    if not left:
        typer.echo(
            f"done: every row is under field key {run.keyring.active_key_id} and blind-index key "
            f"{run.fingerprint} (fingerprint); "
            + (
                f"keep VNCOMPLY_BLIND_INDEX_KEY_PREVIOUS until the {legacy} open disclosure "
                "request(s) recorded before revision 0016 are decided (their subject is kept only "
                "as its index under that key)"
                if legacy
                else "VNCOMPLY_BLIND_INDEX_KEY_PREVIOUS can now be removed"
            )
        )
    return left
