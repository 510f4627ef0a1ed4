"""The `vncomply` command.

`vncomply up` is the developer's one command: with no VNCOMPLY_DATABASE_URL / VNCOMPLY_REDIS_URL it
starts embedded PostgreSQL and Redis under `./.vncomply/`, migrates, makes sure an admin key exists,
and runs the API, a Celery worker and beat as supervised child processes until Ctrl-C. The children
are started through this same command (`api`, `worker`, `beat`), exactly as in production.

Heavy modules (models, FastAPI, Celery) are imported inside the commands, so `--help` stays fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

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
STATE_DIR = Path(".vncomply")
ADMIN_KEY_FILE = "admin-key"

app = typer.Typer(
    name="vncomply",
    help="vncomply: compliance-as-a-service for foreign social platforms operating in Vietnam.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
api_key_app = typer.Typer(help="Issue API keys.", no_args_is_help=True)
platform_app = typer.Typer(help="Register platforms (tenants).", no_args_is_help=True)
authority_app = typer.Typer(help="Register authorities.", no_args_is_help=True)
keys_app = typer.Typer(
    help="Secrets: generate keys for VNCOMPLY_FIELD_KEYS / VNCOMPLY_BLIND_INDEX_KEY; rotate the "
    "field-key ring when the identities package provides it.",
    no_args_is_help=True,
)
app.add_typer(api_key_app, name="api-key")
app.add_typer(platform_app, name="platform")
app.add_typer(authority_app, name="authority")
app.add_typer(keys_app, name="keys")


class RoleChoice(StrEnum):
    admin = "admin"
    platform = "platform"
    officer = "officer"
    authority = "authority"


class KindChoice(StrEnum):
    ministry = "ministry"
    provincial = "provincial"
    specialised = "specialised"


# --------------------------------------------------------------------------------------------
# Helpers


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _system() -> Principal:
    """The actor for operator commands run from a shell: an admin with the nil key id."""
    from vncomply.kit.principal import Principal, Role

    return Principal(uuid.UUID(int=0), Role.admin, None, None)


def _settings() -> Settings:
    """The settings, or a one-line refusal naming the bad variable (prod refuses placeholders)."""
    from pydantic import ValidationError

    from vncomply.config import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        reasons = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        raise _fail(f"invalid configuration: {reasons}") from None


def _require_database() -> str:
    url = _settings().database_url
    if not url:
        raise _fail(
            "VNCOMPLY_DATABASE_URL is not set. Export the URL `vncomply up` printed "
            "(or your server's postgresql+psycopg://… URL) and retry."
        )
    return url


def _in_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run one unit of work in its own transaction; domain errors become a one-line message."""
    from vncomply.kit.db import dispose_engine, session_scope
    from vncomply.kit.errors import DomainError

    _require_database()

    async def main() -> T:
        try:
            async with session_scope() as session:
                return await work(session)
        finally:
            await dispose_engine()

    with _database_errors():
        try:
            return asyncio.run(main())
        except DomainError as exc:
            raise _fail(exc.detail) from None


@contextlib.contextmanager
def _database_errors() -> Iterator[None]:
    """An unreachable database is an operator's typo or a stopped server, not a crash."""
    from sqlalchemy.exc import OperationalError

    try:
        yield
    except OperationalError as exc:
        first = str(exc.orig or exc).strip().splitlines()[0]
        raise _fail(f"cannot reach PostgreSQL ({first}); check VNCOMPLY_DATABASE_URL") from None


def _validate(model: type[Any], data: dict[str, Any]) -> Any:
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"  --{'-'.join(str(p) for p in err['loc']).replace('_', '-')}: {err['msg']}"
            for err in exc.errors()
        ]
        raise _fail("invalid input:\n" + "\n".join(lines), 2) from None


def run_migrations(database_url: str) -> None:
    """`alembic upgrade head` against ``database_url``."""
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = database_url
    with _database_errors():
        command.upgrade(cfg, "head")


async def _ensure_bootstrap_key(session: AsyncSession, raw: str) -> bool:
    from vncomply.auth.service import ensure_key
    from vncomply.kit.principal import Role

    return await ensure_key(session, raw, Role.admin, "bootstrap admin (VNCOMPLY_BOOTSTRAP_ADMIN_KEY)")


def _bootstrap_key() -> str | None:
    from vncomply.auth.service import KEY_PREFIX

    raw = _settings().bootstrap_admin_key
    if raw and not raw.startswith(KEY_PREFIX):
        # The API only accepts keys with the prefix; registering anything else locks you out.
        raise _fail(
            f"VNCOMPLY_BOOTSTRAP_ADMIN_KEY must start with {KEY_PREFIX!r}; "
            f'make one with: {KEY_PREFIX}"$(vncomply keys generate)"'
        )
    return raw or None


def _bootstrap_from_settings() -> None:
    raw = _bootstrap_key()
    if raw and _in_session(lambda s: _ensure_bootstrap_key(s, raw)):
        typer.echo("registered VNCOMPLY_BOOTSTRAP_ADMIN_KEY as an admin key")


# --------------------------------------------------------------------------------------------
# Running


@app.command()
def migrate() -> None:
    """Upgrade the database to the latest schema (alembic upgrade head), then register
    VNCOMPLY_BOOTSTRAP_ADMIN_KEY as an admin key if it is set and not yet known."""
    run_migrations(_require_database())
    _bootstrap_from_settings()


@app.command()
def api(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
    access_log: Annotated[bool, typer.Option(help="Log every request (uvicorn access log).")] = True,
) -> None:
    """Serve the HTTP API with uvicorn (uvloop + httptools)."""
    import uvicorn

    _require_database()
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


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="Prefork pool processes.", min=1)] = 2,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """Run a Celery worker (prefork pool) for the background tasks."""
    _settings()
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


@app.command()
def beat(
    schedule: Annotated[
        Path,
        typer.Option(help="Beat's schedule file. It holds no deadline state (PostgreSQL does)."),
    ] = Path("/tmp/vncomply-celerybeat-schedule"),  # noqa: S108 - disposable, see help
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """Run Celery beat: the heartbeat, audit sealing and the deadline sweeps. Run exactly one."""
    _settings()
    from vncomply.worker import celery_app

    celery_app.start(argv=["beat", f"--loglevel={loglevel}", f"--schedule={schedule}"])


@contextlib.contextmanager
def _servers(state: Path) -> Iterator[tuple[str, str]]:
    """The configured servers, or embedded ones for whichever URL is unset."""
    s = _settings()
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
    _, raw = await create_key(session, None, role=Role.admin, name="dev admin (vncomply up)")
    return raw


def _save_secret(path: Path, secret: str) -> None:
    """Write a secret readable by its owner only (0600 from the first byte, not chmod'ed after)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret + "\n")
    os.chmod(path, 0o600)  # an existing file keeps its mode through O_CREAT


def _child_env(db_url: str, redis_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        VNCOMPLY_DATABASE_URL=db_url,
        VNCOMPLY_REDIS_URL=redis_url,
        PYTHONUNBUFFERED="1",
    )
    return env


@app.command()
def up(
    host: Annotated[str, typer.Option(help="Interface the API binds.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="API port.", min=1, max=65535)] = 8000,
    state_dir: Annotated[
        Path, typer.Option(help="Embedded servers' data, the dev admin key, beat's schedule.")
    ] = STATE_DIR,
) -> None:
    """Run everything: embedded PostgreSQL + Redis (unless their URLs are set), migrations, an
    admin key, then the API, a Celery worker and beat until Ctrl-C. A second `up` keeps the data."""
    from vncomply.config import reset_settings
    from vncomply.embedded import Supervisor

    bootstrap = _bootstrap_key()  # before starting anything: a bad key fails fast
    state_dir.mkdir(parents=True, exist_ok=True)
    with _servers(state_dir) as (db_url, redis_url):
        os.environ.update(VNCOMPLY_DATABASE_URL=db_url, VNCOMPLY_REDIS_URL=redis_url)
        reset_settings()
        typer.echo("migrating …")
        run_migrations(db_url)
        if bootstrap:
            _in_session(lambda s: _ensure_bootstrap_key(s, bootstrap))
            admin_line = f"admin key: the value of VNCOMPLY_BOOTSTRAP_ADMIN_KEY ({bootstrap[:8]}…)"
        else:
            key_file = state_dir / ADMIN_KEY_FILE
            saved = key_file.read_text().strip() if key_file.is_file() else None
            raw = _in_session(lambda s: _dev_admin_key(s, saved))
            if raw and raw != saved:
                _save_secret(key_file, raw)
            admin_line = (
                f"admin key: {raw}  (saved in {key_file})"
                if raw
                else "admin key: admin keys already exist; make another with "
                "`vncomply api-key create --role admin`"
            )
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        typer.echo(
            "\n"
            f"  vncomply is starting: http://{shown_host}:{port}/docs\n"
            f"  {admin_line}\n"
            "  other vncomply commands against this instance need:\n"
            f"    export VNCOMPLY_DATABASE_URL={db_url}\n"
            f"    export VNCOMPLY_REDIS_URL={redis_url}\n"
            "  Ctrl-C stops everything.\n"
        )
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
        code = supervisor.run()
        typer.echo("stopped" if code == 0 else f"a child process failed ({code}); stopped the rest")
    raise typer.Exit(code)


# --------------------------------------------------------------------------------------------
# Operator commands


@api_key_app.command("create")
def api_key_create(
    role: Annotated[RoleChoice, typer.Option(help="What the key may do.")],
    platform: Annotated[
        uuid.UUID | None, typer.Option(help="Platform id (platform and officer keys).")
    ] = None,
    authority: Annotated[uuid.UUID | None, typer.Option(help="Authority id (authority keys).")] = None,
    name: Annotated[str | None, typer.Option(help="A label to recognise the key by.")] = None,
) -> None:
    """Issue an API key. The key is shown once: it is the last line of the output."""
    from vncomply.auth.service import create_key
    from vncomply.kit.principal import Role

    async def work(session: AsyncSession) -> tuple[uuid.UUID, str]:
        key, raw = await create_key(
            session,
            None,
            role=Role(role.value),
            name=name or f"{role.value} key (cli)",
            platform_id=platform,
            authority_id=authority,
        )
        return key.id, raw

    key_id, raw = _in_session(work)
    typer.echo(f"created {role.value} API key {key_id}; store it now, it is not shown again:")
    typer.echo(raw)


@platform_app.command("create")
def platform_create(
    name: Annotated[str, typer.Option(help="Display name.")],
    legal_name: Annotated[str, typer.Option(help="Registered legal name.")],
    contact_name: Annotated[str, typer.Option(help="Form No. 10 contact point: person.")],
    contact_email: Annotated[str, typer.Option(help="Contact point e-mail.")],
    contact_phone: Annotated[str, typer.Option(help="Contact point phone.")],
    contact_address: Annotated[str, typer.Option(help="Contact point address.")],
    monthly_vn_visits: Annotated[int, typer.Option(help="6-month average of monthly visits from Vietnam.")],
    stores_data_in_vn: Annotated[
        bool, typer.Option("--stores-data-in-vn", help="Rents data storage in Vietnam.")
    ] = False,
    in_scope_since: Annotated[str | None, typer.Option(help="Date it came in scope (YYYY-MM-DD).")] = None,
) -> None:
    """Register a platform; prints it as JSON (with its scope status and Form 10 due date)."""
    from vncomply.platforms import service
    from vncomply.platforms.schemas import PlatformCreate

    body = _validate(
        PlatformCreate,
        {
            "name": name,
            "legal_name": legal_name,
            "contact_point": {
                "name": contact_name,
                "email": contact_email,
                "phone": contact_phone,
                "address": contact_address,
            },
            "monthly_vn_visits": monthly_vn_visits,
            "stores_data_in_vn": stores_data_in_vn,
            "in_scope_since": in_scope_since,
        },
    )

    async def work(session: AsyncSession) -> str:
        return service.to_out(await service.create(session, _system(), body)).model_dump_json(indent=2)

    typer.echo(_in_session(work))


@authority_app.command("create")
def authority_create(
    code: Annotated[str, typer.Option(help="Unique code, e.g. ABEI, MPS-A05, DIC-HANOI.")],
    name: Annotated[str, typer.Option(help="Full name.")],
    kind: Annotated[KindChoice, typer.Option(help="Kind of authority.")],
    platform: Annotated[
        list[uuid.UUID] | None, typer.Option(help="A platform it may address (repeatable).")
    ] = None,
    all_platforms: Annotated[
        bool, typer.Option("--all-platforms", help="It may address every platform.")
    ] = False,
) -> None:
    """Register an authority and the platforms it may address; prints it as JSON."""
    from vncomply.authorities import service
    from vncomply.authorities.schemas import AuthorityCreate

    if all_platforms and platform:
        raise _fail("give either --platform … or --all-platforms, not both", 2)
    body = _validate(
        AuthorityCreate,
        {
            "code": code,
            "name": name,
            "kind": kind.value,
            "platforms": "all" if all_platforms else [str(p) for p in platform or []],
        },
    )

    async def work(session: AsyncSession) -> str:
        return service.to_out(await service.create(session, _system(), body)).model_dump_json(indent=2)

    typer.echo(_in_session(work))


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


def _mount_identity_key_commands() -> None:
    """The identities package may ship key-ring commands (e.g. `rotate`, re-encrypting PII) in
    `vncomply.identities.cli:app`; they join `keys` next to `generate` when that module exists."""
    try:
        from vncomply.identities import cli as identities_cli
    except ModuleNotFoundError as exc:
        if exc.name != "vncomply.identities.cli":
            raise
        return
    sub: typer.Typer = identities_cli.app
    # Ours wins for `generate` (it also prints ring entries with --key-id).
    keys_app.registered_commands.extend(
        c
        for c in sub.registered_commands
        if (c.name or getattr(c.callback, "__name__", "").replace("_", "-")) != "generate"
    )
    keys_app.registered_groups.extend(sub.registered_groups)


_mount_identity_key_commands()
app.add_typer(importlib.import_module("vncomply.reports.cli").retention_app, name="retention")


if __name__ == "__main__":
    app()
