"""The `vncomply` command: help everywhere, and the operator commands against the test database
(run as real subprocesses, as an operator would, committing for real)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner

from tests.factories import auth
from vncomply.cli import app as cli_app


def _walk(cmd: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    # Duck-typed: recent typer releases vendor click, so isinstance(…, click.Group) fails.
    yield path, cmd
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _walk(sub, (*path, name))


def test_every_command_has_help() -> None:
    root = typer.main.get_command(cli_app)
    runner = CliRunner()
    seen = set()
    for path, cmd in _walk(root):
        seen.add(" ".join(path))
        assert (cmd.help or "").strip(), f"`vncomply {' '.join(path)}` has no help text"
        result = runner.invoke(cli_app, [*path, "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage" in result.output
        for param in cmd.params:
            if param.param_type_name == "option" and param.name != "help":
                assert param.help, f"`vncomply {' '.join(path)} {param.opts[0]}` has no help"
    assert {
        "up",
        "migrate",
        "api",
        "worker",
        "beat",
        "api-key create",
        "platform create",
        "authority create",
        "keys generate",
    } <= seen


def test_keys_generate_prints_a_32_byte_key() -> None:
    from vncomply.kit.crypto import KeyRing, decode_key

    result = CliRunner().invoke(cli_app, ["keys", "generate"])
    assert result.exit_code == 0
    assert len(decode_key(result.stdout.strip())) == 32
    result = CliRunner().invoke(cli_app, ["keys", "generate", "--key-id", "k2"])
    assert KeyRing.from_spec(result.stdout.strip()).key_ids == ("k2",)


async def _vncomply(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "vncomply.cli",
        *args,
        env=env if env is not None else dict(os.environ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
async def api(committed: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the committed (real) database the subprocesses write to."""
    from vncomply.app import create_app
    from vncomply.auth.service import clear_cache
    from vncomply.kit.redis import close_redis

    clear_cache()
    transport = httpx.ASGITransport(app=create_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
    await close_redis()


async def test_api_key_create_prints_a_working_key_last(api: httpx.AsyncClient) -> None:
    code, out, err = await _vncomply("api-key", "create", "--role", "admin", "--name", "ops")
    assert code == 0, err
    key = out.strip().splitlines()[-1]
    assert key.startswith("vnc_")
    assert (await api.get("/v1/platforms", headers=auth(key))).status_code == 200
    assert (await api.get("/v1/platforms", headers=auth(key + "x"))).status_code == 401


async def test_platform_authority_and_scoped_keys(api: httpx.AsyncClient) -> None:
    code, out, err = await _vncomply(
        "platform",
        "create",
        "--name",
        "CliSocial",
        "--legal-name",
        "Cli Social Inc.",
        "--contact-name",
        "Tran Thi B",
        "--contact-email",
        "vn@example.com",
        "--contact-phone",
        "+84 24 3825 0000",
        "--contact-address",
        "Ha Noi",
        "--monthly-vn-visits",
        "250000",
        "--in-scope-since",
        "2025-01-01",
    )
    assert code == 0, err
    platform = json.loads(out)
    assert platform["in_scope"] is True
    assert platform["filing_due_at"]

    code, out, err = await _vncomply(
        "authority",
        "create",
        "--code",
        "ABEI",
        "--name",
        "ABEI",
        "--kind",
        "ministry",
        "--platform",
        platform["id"],
    )
    assert code == 0, err
    authority = json.loads(out)
    assert authority["code"] == "ABEI"

    code, out, err = await _vncomply("api-key", "create", "--role", "officer", "--platform", platform["id"])
    assert code == 1  # an officer key names its holder
    assert "holder" in err
    code, out, err = await _vncomply(
        "api-key", "create", "--role", "officer", "--platform", platform["id"], "--holder", "Trần Thị Bình"
    )
    assert code == 0, err
    officer = out.strip().splitlines()[-1]
    r = await api.get(f"/v1/platforms/{platform['id']}", headers=auth(officer))
    assert r.status_code == 200
    assert r.json()["name"] == "CliSocial"

    code, out, err = await _vncomply(
        "api-key", "create", "--role", "authority", "--authority", authority["id"]
    )
    assert code == 0, err
    assert out.strip().splitlines()[-1].startswith("vnc_")


async def test_operator_errors_are_one_line_messages(api: httpx.AsyncClient) -> None:
    code, out, err = await _vncomply("api-key", "create", "--role", "platform")
    assert code == 1
    assert "platform_id" in err
    assert "Traceback" not in err
    assert "vnc_" not in out

    code, _, err = await _vncomply(
        "platform",
        "create",
        "--name",
        "X",
        "--legal-name",
        "X",
        "--contact-name",
        "A",
        "--contact-email",
        "not-an-email",
        "--contact-phone",
        "+8424000000",
        "--contact-address",
        "HN",
        "--monthly-vn-visits",
        "-1",
    )
    assert code == 2
    assert "--contact-point-email" in err and "--monthly-vn-visits" in err  # noqa: PT018

    env = {k: v for k, v in os.environ.items() if k != "VNCOMPLY_DATABASE_URL"}
    code, _, err = await _vncomply("api-key", "create", "--role", "admin", env=env)
    assert code == 1
    assert "VNCOMPLY_DATABASE_URL" in err


async def test_migrate_is_idempotent_and_registers_the_bootstrap_key(api: httpx.AsyncClient) -> None:
    bootstrap = "vnc_" + "b" * 43
    env = {**os.environ, "VNCOMPLY_BOOTSTRAP_ADMIN_KEY": bootstrap}
    code, out, err = await _vncomply("migrate", env=env)
    assert code == 0, err
    assert "registered VNCOMPLY_BOOTSTRAP_ADMIN_KEY" in out
    assert (await api.get("/v1/platforms", headers=auth(bootstrap))).status_code == 200
    code, out, err = await _vncomply("migrate", env=env)
    assert code == 0, err
    assert "registered" not in out  # known already: nothing to do

    env["VNCOMPLY_BOOTSTRAP_ADMIN_KEY"] = "b" * 47  # no vnc_ prefix: the API would never accept it
    code, _, err = await _vncomply("migrate", env=env)
    assert code == 1
    assert "must start with 'vnc_'" in err


async def test_prod_refuses_placeholder_secrets_with_one_line_naming_the_variable() -> None:
    env = {**os.environ, "VNCOMPLY_ENV": "prod"}
    env.pop("VNCOMPLY_FIELD_KEYS", None)
    for command in (("migrate",), ("api",), ("worker",), ("beat",)):
        code, _, err = await _vncomply(*command, env=env)
        assert code == 1, command
        assert "VNCOMPLY_FIELD_KEYS" in err
        assert "Traceback" not in err


async def test_operator_commands_are_audited_as_the_system_actor_via_the_cli(api: httpx.AsyncClient) -> None:
    code, out, err = await _vncomply("api-key", "create", "--role", "admin", "--name", "auditor")
    assert code == 0, err
    key = out.strip().splitlines()[-1]
    key_id = out.split("API key ")[1].split(";")[0]
    code, out, err = await _vncomply(
        "platform",
        "create",
        "--name",
        "AuditedSocial",
        "--legal-name",
        "Audited Social Inc.",
        "--contact-name",
        "Tran Thi B",
        "--contact-email",
        "vn@example.com",
        "--contact-phone",
        "+84 24 3825 0000",
        "--contact-address",
        "Ha Noi",
        "--monthly-vn-visits",
        "250000",
    )
    assert code == 0, err
    platform_id = json.loads(out)["id"]
    system = {"key_id": None, "role": "system", "platform_id": None, "authority_id": None}
    for resource_type, resource_id, action in (
        ("platform", platform_id, "platform.created"),
        ("api_key", key_id, "api_key.created"),
    ):
        r = await api.get(
            "/v1/audit-events",
            params={"resource_type": resource_type, "resource_id": resource_id},
            headers=auth(key),
        )
        assert r.status_code == 200, r.text
        [event] = r.json()["items"]
        assert event["action"] == action
        assert event["actor"] == system
        assert event["details"]["via"] == "cli"


def test_a_held_state_dir_cannot_be_claimed_twice(tmp_path: Path) -> None:
    from vncomply.cli.instance import AlreadyRunning, claim, read_instance

    with claim(tmp_path, "0.0.0.0", 8123) as held:
        with pytest.raises(AlreadyRunning) as refused, claim(tmp_path, "127.0.0.1", 8124):
            pass
        assert refused.value.running == held.me
        assert refused.value.running.docs_url == "http://127.0.0.1:8123/docs"
        assert refused.value.running.database_url is None  # still starting: no URLs yet
        held.servers_started("postgresql+psycopg://u:secret@db/x", "redis://r/0")
        assert read_instance(tmp_path) == held.me
        assert (tmp_path / "up.json").stat().st_mode & 0o777 == 0o600  # may hold a password
    assert read_instance(tmp_path) is None
    with claim(tmp_path, "127.0.0.1", 8124) as again:  # released with the block
        assert again.me.pid == os.getpid()
