"""`vncomply keys`: `generate` here; the key-ring commands that work on stored PII (`rotate`) come
from the identities package (`vncomply.identities.cli`) and are mounted beside it."""

from __future__ import annotations

from typing import Annotated

import typer

from vncomply.identities import cli as identities_cli

keys_app = typer.Typer(
    help="Secrets: generate keys for VNCOMPLY_FIELD_KEYS / VNCOMPLY_BLIND_INDEX_KEY; rotate the "
    "field-key ring.",
    no_args_is_help=True,
)


@keys_app.command("generate")
def keys_generate(
    key_id: Annotated[
        str | None,
        typer.Option(help="Print `ID:KEY`, an entry for the VNCOMPLY_FIELD_KEYS ring."),
    ] = None,
) -> None:
    """Print a new random 32-byte key (base64url): for VNCOMPLY_BLIND_INDEX_KEY, or with
    --key-id for VNCOMPLY_FIELD_KEYS."""
    from vncomply.kit.crypto import generate_key

    key = generate_key()
    typer.echo(f"{key_id}:{key}" if key_id else key)


keys_app.registered_commands.extend(identities_cli.app.registered_commands)
keys_app.registered_groups.extend(identities_cli.app.registered_groups)
