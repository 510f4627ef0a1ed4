"""No input crashes a request into a 500, and every answer is one the document describes (its
status, media type, schema and headers): schemathesis generates requests from our own OpenAPI
document (examples, boundary coverage, fuzzing) against the real API process on the test database,
once with a key of each role, so each role gets past authentication into validation and services.

Deterministic generation: a failure here reproduces on the next run. Date-times are also drawn
without a zone and as bare dates (tests/fuzz_hooks.py). The NDJSON bulk endpoint is left out
(schemathesis has no serializer for it; tests/identities/test_bulk.py fuzzes its splitter and holds
every bad line to its own result).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.factories import free_port

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
HOOKS = Path(__file__).with_name("fuzz_hooks.py")
EXAMPLES_PER_OPERATION = 8
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
)


@pytest.fixture
async def keys(committed) -> dict[str, str]:
    from tests.factories import make_authority, make_key, make_platform
    from vncomply.kit.principal import Role

    async with committed() as s:
        pid = await make_platform(s)
        _, authority = await make_authority(s, "ABEI", [pid])
        _, admin = await make_key(s, Role.admin)
        _, platform = await make_key(s, Role.platform, platform_id=pid)
        _, officer = await make_key(s, Role.officer, platform_id=pid)
        await s.commit()
    return {"admin": admin, "platform": platform, "officer": officer, "authority": authority}


@pytest.fixture
def api(keys: dict[str, str], tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "VNCOMPLY_LOG_LEVEL": "WARNING",
        # Generated traffic must meet validation, not the rate limiter.
        **{
            f"VNCOMPLY_RATE_LIMIT_{r}": "100000,100000" for r in ("ADMIN", "PLATFORM", "OFFICER", "AUTHORITY")
        },
    }
    log = tmp_path / "api.log"  # a file, not a pipe: nothing reads a pipe until the end
    proc = subprocess.Popen(
        [str(BIN / "vncomply"), "api", "--port", str(port), "--no-access-log"],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{url}/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the API did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        # The server's own view: an unhandled exception is logged even if a client saw a 4xx (our
        # log lines go to stdout; the server's own tracebacks to stderr).
        out = log.read_text(errors="replace")
        for sign in ("unhandled_exception", "Exception in ASGI application", "Traceback"):
            assert sign not in out, out[-3000:]


@pytest.mark.parametrize("role", ["platform", "officer", "authority", "admin"])
def test_no_generated_request_is_a_server_error(
    api: str, keys: dict[str, str], role: str, tmp_path: Path
) -> None:
    run = subprocess.run(
        [
            str(BIN / "st"),
            "run",
            f"{api}/openapi.json",
            "-H",
            f"Authorization: Bearer {keys[role]}",
            "--checks",
            # Beyond no 500: every answer is a status, media type, schema and headers the
            # document promises (the document matches the wire; tests/test_openapi_docs.py).
            ",".join(CHECKS),
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--exclude-path",
            "/v1/identities/bulk",
            "--phases",
            "examples,coverage,fuzzing",
            "--generation-deterministic",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)},
        timeout=600,
        cwd=tmp_path,  # schemathesis keeps a cache in its working directory
    )
    # The failures first (the warnings after them can be long), whole; the rest in the file.
    (tmp_path / "schemathesis.out").write_text(run.stdout + run.stderr)
    failures = run.stdout.split("WARNINGS")[0]
    assert run.returncode == 0, failures[-20000:] + run.stderr[-2000:]
