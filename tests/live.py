"""A real API process for tests that need one over TCP (a browser, the guides): `vncomply api` on a
free port, on the test database, stopped (by its own pid) afterwards."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx

from tests.factories import free_port

BIN = Path(sys.executable).parent


@contextlib.contextmanager
def running(
    argv: list[str], ready_url: str, log: Path, env: Mapping[str, str], timeout: float = 60
) -> Iterator[None]:
    """Run ``argv`` until the block ends; wait until ``ready_url`` answers 200 first."""
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{argv[1]} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(ready_url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{ready_url} did not answer:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def live_env(**extra: str) -> dict[str, str]:
    """The environment of the test run (its database, Redis, key prefix) plus ``extra``."""
    return {
        **os.environ,
        "VNCOMPLY_LOG_LEVEL": "WARNING",
        # Scripted traffic must meet the code, not the rate limiter.
        **{
            f"VNCOMPLY_RATE_LIMIT_{r}": "100000,100000" for r in ("ADMIN", "PLATFORM", "OFFICER", "AUTHORITY")
        },
        **extra,
    }


@contextlib.contextmanager
def api(log_dir: Path, **env: str) -> Iterator[str]:
    """`vncomply api` on 127.0.0.1 and a free port; yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [str(BIN / "vncomply"), "api", "--port", str(port), "--no-access-log"]
    with running(argv, f"{base}/healthz", log_dir / "api.log", live_env(**env)):
        yield base


@contextlib.contextmanager
def stack(log_dir: Path, **env: str) -> Iterator[str]:
    """The API, a worker and beat, as in production (what `vncomply up` supervises), on the test
    database and Redis; yields the API's base URL."""
    vncomply = str(BIN / "vncomply")
    environment = live_env(**env)
    with contextlib.ExitStack() as started:
        base = started.enter_context(api(log_dir, **env))
        for name, argv in (
            ("worker", [vncomply, "worker", "--concurrency", "1"]),
            ("beat", [vncomply, "beat", "--schedule", str(log_dir / "celerybeat-schedule")]),
        ):
            started.enter_context(_background(argv, log_dir / f"{name}.log", environment))
        yield base


@contextlib.contextmanager
def _background(argv: list[str], log: Path, env: Mapping[str, str]) -> Iterator[None]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
    try:
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
