"""Real vncomply processes for the fault tests: `vncomply api`, `worker` and `beat` as subprocesses,
each in its own process group (so `kill -9` of the group reaches Celery's prefork children too),
with their output in a log file that a failing test prints."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

from vncomply.embedded.server import pids_in_group

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0  # a cold start on a busy 2-core machine: imports, migrations head check
STOP_TIMEOUT = 15.0


def wait_for(what: str, cond: Callable[[], bool], timeout: float, every: float = 0.05) -> float:
    """Wait until ``cond()`` holds; the seconds it took. Fails the test after ``timeout``.

    Any error but an AssertionError counts as "not yet" (a server still starting); an
    AssertionError (a process that died) ends the wait at once."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    while True:
        try:
            if cond():
                return time.monotonic() - t0
        except AssertionError:
            raise
        except Exception:  # noqa: S110 - "not yet"
            pass
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


class Proc:
    """One vncomply command in its own process group."""

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # pgid == pid: the group outlives its leader
            )
        self.pgid = self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def members(self) -> list[int]:
        return pids_in_group(self.pgid)

    def output(self, tail: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def kill9(self) -> None:
        """`kill -9` of the whole group (the leader and every pool child at once)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGKILL)
        self.popen.wait(timeout=STOP_TIMEOUT)
        wait_for(f"{self.name}'s group to be gone", lambda: not self.members(), STOP_TIMEOUT)

    def stop(self) -> None:
        if not self.members() and not self.alive():
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=STOP_TIMEOUT)
            wait_for(f"{self.name} to stop", lambda: not self.members(), 5)
        except (subprocess.TimeoutExpired, AssertionError):
            self.kill9()


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "vncomply.cli", *args]


class Processes:
    """Everything a test started; all stopped at teardown (in reverse order)."""

    def __init__(self, env: Mapping[str, str], logs: Path) -> None:
        self.env = dict(env)
        self.logs = logs
        self.started: list[Proc] = []
        self._n = 0

    def _start(self, name: str, argv: list[str], env: Mapping[str, str] | None) -> Proc:
        self._n += 1
        proc = Proc(name, argv, {**self.env, **(env or {})}, self.logs / f"{self._n:02d}-{name}.log")
        self.started.append(proc)
        return proc

    def api(self, port: int, env: Mapping[str, str] | None = None) -> Proc:
        proc = self._start("api", command("api", "--port", str(port), "--no-access-log"), env)
        base = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            if not proc.alive():
                raise AssertionError(f"api exited:\n{proc.output()}")
            return httpx.get(f"{base}/readyz", timeout=2).status_code == 200

        wait_for("the API's /readyz", ready, START_TIMEOUT, every=0.2)
        return proc

    def worker(self, concurrency: int = 2, env: Mapping[str, str] | None = None) -> Proc:
        proc = self._start(
            "worker", command("worker", f"--concurrency={concurrency}", "--loglevel=INFO"), env
        )

        def ready() -> bool:
            if not proc.alive():
                raise AssertionError(f"worker exited:\n{proc.output()}")
            return " ready." in proc.output(200_000)

        wait_for("the worker to be ready", ready, START_TIMEOUT, every=0.1)
        return proc

    def beat(self, env: Mapping[str, str] | None = None) -> Proc:
        self._n += 1
        schedule = self.logs / f"beat-{self._n}.schedule"  # one file per beat: they must not share
        # DEBUG: beat's "Sending due task …" lines are demoted to DEBUG (kit/tasklogs.py); the
        # two-beats test counts them.
        proc = self._start("beat", command("beat", f"--schedule={schedule}", "--loglevel=DEBUG"), env)
        wait_for(
            "beat to start",
            lambda: _started(proc, "beat: Starting"),
            START_TIMEOUT,
            every=0.1,
        )
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            proc.stop()

    def dump(self) -> str:
        return "\n".join(f"--- {p.log.name} ---\n{p.output()}" for p in self.started)


def _started(proc: Proc, marker: str) -> bool:
    if not proc.alive():
        raise AssertionError(f"{proc.name} exited:\n{proc.output()}")
    return marker in proc.output(200_000)
