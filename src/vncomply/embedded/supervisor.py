"""A small process supervisor for `vncomply up`: API, worker and beat as child process groups."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import IO, Any

from vncomply.embedded.server import pids_in_group

ChildSpec = tuple[str, Sequence[str], Mapping[str, str] | None]


class _Child:
    def __init__(self, name: str, proc: subprocess.Popen[bytes], pump: threading.Thread) -> None:
        self.name = name
        self.proc = proc
        self.pump = pump
        # start_new_session=True makes the child a process-group leader: pgid == pid, and the
        # group outlives the leader, so we can still reach its orphans (celery pool workers).
        self.pgid = proc.pid


class Supervisor:
    """Run several long-lived commands (API, Celery worker, beat) like a tiny process manager.

    Each child gets its own session/process group so that (a) Ctrl-C in the terminal reaches only
    the supervisor, which then shuts children down in an orderly way, and (b) signalling the group
    also reaches grandchildren such as Celery's prefork pool. Output is merged per child and
    prefixed with `[name] `.

    `children` is a sequence of `(name, argv, env)`; `env` is the complete environment for that
    child (as for `subprocess.Popen`), or None to inherit ours.
    """

    def __init__(
        self,
        children: Sequence[ChildSpec],
        *,
        stop_timeout: float = 10.0,
        output: IO[str] | None = None,
    ) -> None:
        self._specs = list(children)
        self._stop_timeout = stop_timeout
        self._output = output
        self._out_lock = threading.Lock()
        self._stop_requested = threading.Event()
        self._signal_count = 0
        self._children: list[_Child] = []

    # -- output ----------------------------------------------------------------------------

    def emit(self, text: str) -> None:
        """Write ``text`` among the children's lines (never inside one of them)."""
        self._emit(text)

    def _emit(self, text: str) -> None:
        out = self._output if self._output is not None else sys.stdout
        # One lock for all pumps so lines from different children never interleave mid-line.
        with self._out_lock:
            out.write(text)
            out.flush()

    def _pump(self, name: str, stream: IO[bytes]) -> None:
        prefix = f"[{name}] "
        with stream:
            for raw in iter(stream.readline, b""):
                line = raw.decode(errors="replace").rstrip("\r\n")
                self._emit(f"{prefix}{line}\n")

    # -- signals ---------------------------------------------------------------------------

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signal_count += 1
        if self._signal_count > 1:
            # A second Ctrl-C means "now": skip the grace period.
            for child in self._children:
                self._signal_group(child, signal.SIGKILL)
        self._stop_requested.set()

    def request_stop(self) -> None:
        """Ask `run()` to shut everything down (usable from another thread)."""
        self._stop_requested.set()

    # -- lifecycle -------------------------------------------------------------------------

    def _start(self, name: str, argv: Sequence[str], env: Mapping[str, str] | None) -> None:
        proc = subprocess.Popen(
            list(argv),
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            # Merged so each child's lines keep their relative order on our stdout.
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        assert proc.stdout is not None
        pump = threading.Thread(target=self._pump, args=(name, proc.stdout), name=f"pump-{name}", daemon=True)
        pump.start()
        self._children.append(_Child(name, proc, pump))

    @staticmethod
    def _signal_group(child: _Child, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pgid, sig)

    def _group_alive(self, child: _Child) -> bool:
        child.proc.poll()  # reap the leader, or its zombie would count as alive
        return bool(pids_in_group(child.pgid))

    def _stop_all(self) -> None:
        # Signal every group, even where the leader already exited: its children may not have.
        for child in self._children:
            self._signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + self._stop_timeout
        while time.monotonic() < deadline:
            if not any(self._group_alive(c) for c in self._children):
                break
            time.sleep(0.1)
        for child in self._children:
            if self._group_alive(child):
                self._emit(f"[supervisor] {child.name} did not stop in time; killing\n")
                self._signal_group(child, signal.SIGKILL)
        for child in self._children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.proc.wait(timeout=5)
            # The pipe closes once every process holding it is gone; don't hang on a stray one.
            child.pump.join(timeout=2)

    def run(self) -> int:
        """Run until SIGINT/SIGTERM (returns 0) or until a child exits on its own (returns that
        child's exit status, 1 if it exited "successfully" - a service is not supposed to)."""
        installed: dict[signal.Signals, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                installed[sig] = signal.signal(sig, self._on_signal)
        exit_code = 0
        try:
            for name, argv, env in self._specs:
                if self._stop_requested.is_set():
                    break
                self._start(name, argv, env)
            while not self._stop_requested.wait(0.2):
                exited = next((c for c in self._children if c.proc.poll() is not None), None)
                if exited is not None:
                    code = exited.proc.returncode
                    self._emit(f"[supervisor] {exited.name} exited with status {code}; stopping\n")
                    exit_code = 128 - code if code < 0 else (code or 1)
                    break
        finally:
            self._stop_all()
            for sig, old in installed.items():
                # None = a handler not installed from Python; the closest we can restore is default.
                signal.signal(sig, old if old is not None else signal.SIG_DFL)
        return exit_code
