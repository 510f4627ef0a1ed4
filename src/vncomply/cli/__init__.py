"""The `vncomply` command (`pyproject.toml`: `vncomply = "vncomply.cli:app"`).

This module only assembles the commands; each lives with its concern:

- `serve`: `migrate`, `api`, `worker`, `beat` (the production processes);
- `up`: `up`, everything for a developer, refusing to touch an instance already running
  (`instance`);
- `operators`: `api-key create`, `platform create`, `authority create`;
- `keys`: `keys generate`, plus the identities package's `keys rotate`;
- `common`: what they share (one-line failures, settings, a session per command, migrations).

Heavy modules (models, FastAPI, Celery) are imported inside the commands, so `--help` stays fast.
"""

from __future__ import annotations

import typer

from vncomply.cli import serve
from vncomply.cli import up as up_command
from vncomply.cli.common import settings
from vncomply.cli.keys import keys_app
from vncomply.cli.operators import api_key_app, authority_app, platform_app

app = typer.Typer(
    name="vncomply",
    help="vncomply: compliance-as-a-service for foreign social platforms operating in Vietnam.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)


@app.callback()
def _check_settings(ctx: typer.Context) -> None:
    # Every command passes here first: a malformed key or secret stops any process before it
    # starts (the message names the variable, never the value). `keys` checks for itself, as
    # `keys generate` must work while a broken key is being replaced.
    if ctx.invoked_subcommand != "keys":
        settings()


@keys_app.callback()
def _check_settings_for_keys(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand != "generate":
        settings()


app.command()(serve.migrate)
app.command()(serve.api)
app.command()(serve.worker)
app.command()(serve.beat)
app.command()(up_command.up)
app.add_typer(api_key_app, name="api-key")
app.add_typer(platform_app, name="platform")
app.add_typer(authority_app, name="authority")
app.add_typer(keys_app, name="keys")

__all__ = ["app"]
