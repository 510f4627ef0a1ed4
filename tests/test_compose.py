"""docker-compose.yml and the Dockerfile, checked without a Docker engine: the services exist, wait
for each other properly, and every command is one that `vncomply` really accepts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from vncomply.cli import app as cli_app

ROOT = Path(__file__).resolve().parents[1]
APP_SERVICES = ("migrate", "api", "worker", "beat")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def _entrypoint() -> list[str]:
    line = next(ln for ln in (ROOT / "Dockerfile").read_text().splitlines() if ln.startswith("ENTRYPOINT"))
    return list(yaml.safe_load(line.removeprefix("ENTRYPOINT").strip()))


def test_services_exist(compose: dict[str, Any]) -> None:
    assert {"postgres", "redis", *APP_SERVICES} <= set(compose["services"])
    assert re.fullmatch(r"postgres:(1[6-9]|[2-9]\d)(\D.*)?", compose["services"]["postgres"]["image"])
    assert re.fullmatch(r"redis:([7-9]|\d\d)(\D.*)?", compose["services"]["redis"]["image"])


def test_every_app_command_is_a_real_vncomply_command(compose: dict[str, Any]) -> None:
    assert _entrypoint() == ["vncomply"]
    root = typer.main.get_command(cli_app)
    for name in APP_SERVICES:
        argv = [str(a) for a in compose["services"][name]["command"]]
        if argv[0] == "vncomply":  # tolerate a full command line as well
            argv = argv[1:]
        sub = root.commands.get(argv[0])  # type: ignore[attr-defined]
        assert sub is not None, f"{name}: `vncomply {argv[0]}` is not a command"
        # Parse the options for real: a misspelt or removed flag fails here, not in production.
        sub.make_context(argv[0], argv[1:])


def test_dependencies_and_healthchecks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("postgres", "redis", "api", "worker", "beat"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"
    for name in ("api", "worker", "beat"):
        deps = services[name]["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy"
        assert deps["redis"]["condition"] == "service_healthy"
        assert deps["migrate"]["condition"] == "service_completed_successfully"
    assert "8000:8000" in services["api"]["ports"]


def test_app_services_run_in_prod_with_required_secrets(compose: dict[str, Any]) -> None:
    for name in APP_SERVICES:
        env = compose["services"][name]["environment"]
        assert env["VNCOMPLY_ENV"] == "prod"
        assert env["VNCOMPLY_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["VNCOMPLY_REDIS_URL"].startswith("redis://")
        for secret in ("VNCOMPLY_FIELD_KEYS", "VNCOMPLY_BLIND_INDEX_KEY", "VNCOMPLY_BOOTSTRAP_ADMIN_KEY"):
            # `${VAR:?…}`: compose refuses to start without it; no default secret in the file.
            assert env[secret] == f"${{{secret}:?set {secret}}}", (name, secret)
