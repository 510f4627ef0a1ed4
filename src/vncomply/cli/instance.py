"""One `vncomply up` per state directory.

`up` holds an exclusive `flock` on `<state dir>/up.lock` for as long as it runs, and describes
itself (pid, API address, the URLs of its servers) in `<state dir>/up.json` beside it. A second
`up` on the same directory finds the lock taken and refuses before it starts, stops or migrates
anything, pointing at the running one instead: starting the embedded PostgreSQL again would stop
the first instance's server (see `embedded.postgres`, which takes over a data directory whose
server it finds running).

The kernel releases the lock when the holder dies, even by SIGKILL, so a crashed `up` never
blocks the next one, and `up.json` is trusted only while the lock is held. The lock's descriptor
is not inherited by the child processes (Python opens files close-on-exec): an orphaned worker
must not make a dead `up` look alive.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path

from vncomply.cli.common import write_private

LOCK_FILE = "up.lock"
INFO_FILE = "up.json"


@dataclasses.dataclass
class Instance:
    """What a running `up` says about itself; the URLs are known once its servers are up."""

    pid: int
    host: str
    port: int
    database_url: str | None = None
    redis_url: str | None = None

    @property
    def docs_url(self) -> str:
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{shown}:{self.port}/docs"


class AlreadyRunning(Exception):
    """Another process holds the state directory; ``running`` is what it wrote about itself
    (None if it has not written it yet or it cannot be read)."""

    def __init__(self, state_dir: Path, running: Instance | None) -> None:
        super().__init__(f"another `vncomply up` holds {state_dir / LOCK_FILE}")
        self.state_dir = state_dir
        self.running = running


class Claim:
    """The held state directory and what we say about ourselves in it."""

    def __init__(self, state_dir: Path, me: Instance) -> None:
        self.state_dir = state_dir
        self.me = me
        self._write()

    def servers_started(self, database_url: str, redis_url: str) -> None:
        """Tell a second `up` the URLs to give its user."""
        self.me = dataclasses.replace(self.me, database_url=database_url, redis_url=redis_url)
        self._write()

    def _write(self) -> None:
        # write_private replaces the file whole (a reader never sees half of it), mode 0600: a
        # configured VNCOMPLY_DATABASE_URL may hold a password.
        write_private(self.state_dir / INFO_FILE, json.dumps(dataclasses.asdict(self.me)))


def read_instance(state_dir: Path) -> Instance | None:
    """What the `up` holding ``state_dir`` wrote about itself, if anything readable."""
    with contextlib.suppress(OSError, ValueError, TypeError):
        return Instance(**json.loads((state_dir / INFO_FILE).read_text()))
    return None


@contextlib.contextmanager
def claim(state_dir: Path, host: str, port: int) -> Iterator[Claim]:
    """Hold ``state_dir`` for the block, or raise `AlreadyRunning` at once (never waits)."""
    # A separate, never-replaced lock file: up.json is replaced on every write, and a lock on a
    # replaced inode would lock nothing.
    fd = os.open(state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise AlreadyRunning(state_dir, read_instance(state_dir)) from None
    try:
        yield Claim(state_dir, Instance(os.getpid(), host, port))
    finally:
        # Before the lock goes: once it is released the next `up` may write its own file.
        (state_dir / INFO_FILE).unlink(missing_ok=True)
        os.close(fd)
