"""What every `vncomply` command shares: one-line failures, settings, a database session per
command, migrations and the bootstrap admin key.

Heavy modules (models, SQLAlchemy, Alembic) are imported inside the functions, so `--help` stays
fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

import vncomply

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from vncomply.config import Settings
    from vncomply.kit.principal import Principal

T = TypeVar("T")

# The repository root (alembic.ini, migrations/) for an editable install or a source checkout; the
# Dockerfile keeps the same layout (/app/src/vncomply → /app).
ROOT = Path(vncomply.__file__).resolve().parents[2]
# How the audit trail names where an operator command's actions came from (`details.via`).
CLI_ORIGIN = "cli"


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `error: message` on stderr; the caller raises the returned Exit."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def cli_actor() -> Principal:
    """The actor for operator commands run from a shell: the system actor, via the CLI."""
    from vncomply.kit.principal import system_actor

    return system_actor(CLI_ORIGIN)


def settings() -> Settings:
    """The settings, or a one-line refusal naming the bad variable (prod refuses placeholders)."""
    from pydantic import ValidationError

    from vncomply.config import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        reasons = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        raise fail(f"invalid configuration: {reasons}") from None


def require_database() -> str:
    url = settings().database_url
    if not url:
        raise fail(
            "VNCOMPLY_DATABASE_URL is not set. Export the URL `vncomply up` printed "
            "(or your server's postgresql+psycopg://… URL) and retry."
        )
    return url


def in_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run one unit of work in its own transaction; domain errors become a one-line message."""
    from vncomply.kit.db import dispose_engine, session_scope
    from vncomply.kit.errors import DomainError

    require_database()

    async def main() -> T:
        try:
            async with session_scope() as session:
                return await work(session)
        finally:
            await dispose_engine()

    with database_errors():
        try:
            return asyncio.run(main())
        except DomainError as exc:
            raise fail(exc.detail) from None


@contextlib.contextmanager
def database_errors() -> Iterator[None]:
    """An unreachable database is an operator's typo or a stopped server, not a crash."""
    from sqlalchemy.exc import OperationalError

    try:
        yield
    except OperationalError as exc:
        first = str(exc.orig or exc).strip().splitlines()[0]
        raise fail(f"cannot reach PostgreSQL ({first}); check VNCOMPLY_DATABASE_URL") from None


def validate(model: type[Any], data: dict[str, Any]) -> Any:
    """``model`` from the options, or exit 2 listing each bad option by its flag."""
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"  --{'-'.join(str(p) for p in err['loc']).replace('_', '-')}: {err['msg']}"
            for err in exc.errors()
        ]
        raise fail("invalid input:\n" + "\n".join(lines), 2) from None


def run_migrations(database_url: str) -> None:
    """`alembic upgrade head` against ``database_url``."""
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = database_url
    with database_errors():
        command.upgrade(cfg, "head")


def bootstrap_key() -> str | None:
    """VNCOMPLY_BOOTSTRAP_ADMIN_KEY; its format (the `vnc_` prefix the API insists on) is checked
    with the other secrets when the settings load."""
    return settings().bootstrap_admin_key or None


def register_bootstrap_key(raw: str) -> bool:
    """Register ``raw`` as an admin key unless it is known already; True when it was new."""
    from vncomply.auth.service import ensure_key
    from vncomply.kit.principal import Role

    return in_session(
        lambda s: ensure_key(
            s, raw, Role.admin, "bootstrap admin (VNCOMPLY_BOOTSTRAP_ADMIN_KEY)", actor=cli_actor()
        )
    )


def write_private(path: Path, text: str) -> None:
    """Write ``text`` (and a newline) to ``path`` readable by its owner only: 0600 from the first
    byte (never chmod'ed after), written whole to a temporary file and renamed into place, so a
    reader or a crash never leaves half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
            os.fchmod(fh.fileno(), 0o600)  # a leftover temporary file keeps its mode through O_CREAT
            fh.write(text + "\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
