"""A bad key or secret setting stops every process at start-up: exit code 1, a message naming the
variable, never the value (today's alternative: a process that starts and answers 500 on every
identity write)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass

import pytest
from pydantic import ValidationError

from tests.factories import free_port
from vncomply.config import Settings
from vncomply.kit.crypto import generate_key

KEY = generate_key()  # real key material: it must never be echoed


@dataclass(frozen=True)
class Bad:
    variable: str
    value: str
    secret: str  # the part of the value that must not appear in any output
    extra: tuple[tuple[str, str], ...] = ()

    def env(self) -> dict[str, str]:
        return {self.variable: self.value, **dict(self.extra)}


CASES = [
    Bad("VNCOMPLY_FIELD_KEYS", f"k1{KEY}", KEY),  # no ':' (the key pasted without its id)
    Bad("VNCOMPLY_FIELD_KEYS", f"{KEY}:k1", KEY),  # id and key swapped
    Bad("VNCOMPLY_FIELD_KEYS", f"k1:{KEY[:20]}", KEY[:20]),  # too short for AES-256
    Bad("VNCOMPLY_FIELD_KEY_ACTIVE", "k7-not-in-ring", "k7-not-in-ring"),
    Bad("VNCOMPLY_BLIND_INDEX_KEY", KEY[:30], KEY[:30]),
    Bad("VNCOMPLY_BLIND_INDEX_KEY", f"{KEY[:30]}*!", KEY[:30]),
    Bad("VNCOMPLY_BLIND_INDEX_KEY_PREVIOUS", KEY[:25], KEY[:25]),
    Bad("VNCOMPLY_SMS_HTTP_TOKEN", "tok3n-secret\r\nX-Injected: 1", "tok3n-secret"),
    Bad("VNCOMPLY_SMS_HTTP_URL", "sms.example/send", "sms.example", (("VNCOMPLY_SMS_PROVIDER", "http"),)),
    Bad("VNCOMPLY_BOOTSTRAP_ADMIN_KEY", KEY + "xyz", KEY),  # no vnc_ prefix
    Bad("VNCOMPLY_BOOTSTRAP_ADMIN_KEY", "vnc_" + KEY[:10], KEY[:10]),  # too short
]
IDS = [f"{c.variable.removeprefix('VNCOMPLY_')}-{i}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize("bad", CASES, ids=IDS)
def test_settings_refuse_and_name_the_variable(bad: Bad, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in bad.env().items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as err:
        Settings()
    shown = str(err.value)  # what a traceback in any process would print
    assert bad.variable in shown
    assert bad.secret not in shown


def test_good_settings_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VNCOMPLY_FIELD_KEYS", f"k1:{generate_key()},k2:{KEY}")
    monkeypatch.setenv("VNCOMPLY_FIELD_KEY_ACTIVE", "k1")
    monkeypatch.setenv("VNCOMPLY_BLIND_INDEX_KEY", generate_key())
    monkeypatch.setenv("VNCOMPLY_BLIND_INDEX_KEY_PREVIOUS", "")  # empty: unset
    monkeypatch.setenv("VNCOMPLY_SMS_PROVIDER", "http")
    monkeypatch.setenv("VNCOMPLY_SMS_HTTP_URL", "https://sms.example/send")
    monkeypatch.setenv("VNCOMPLY_SMS_HTTP_TOKEN", "abc.DEF-123_~+/=")
    monkeypatch.setenv("VNCOMPLY_BOOTSTRAP_ADMIN_KEY", "vnc_" + generate_key())
    Settings().validate_secrets()


async def _run(args: list[str], env: dict[str, str]) -> tuple[int | None, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "vncomply.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,  # so a process that did start is stopped with all its children
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=45)
    except TimeoutError:
        # It started instead of refusing (a server runs until stopped): that is the failure.
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = await proc.communicate()
        return None, out.decode(errors="replace")
    return proc.returncode, out.decode(errors="replace")


def _args(command: str, state: str) -> list[str]:
    if command == "api":
        return ["api", "--port", str(free_port())]
    if command == "up":
        return ["up", "--port", str(free_port()), "--state-dir", state]
    return [command]


# One malformed value per variable for the process matrix (the variants are checked above).
PER_VARIABLE = list({c.variable: c for c in reversed(CASES)}.values())


@pytest.mark.parametrize("command", ["api", "worker", "beat", "migrate", "up"])
async def test_every_process_refuses_every_bad_setting(command: str, tmp_path) -> None:
    """Real invocations (no --help) with a working database and Redis configured (the test
    run's): the process exits 1 naming the variable, before it serves, migrates or consumes."""
    limit = asyncio.Semaphore(3)  # the machine is shared: a few interpreters at a time

    async def one(bad: Bad) -> str | None:
        async with limit:
            code, out = await _run(_args(command, str(tmp_path)), {**os.environ, **bad.env()})
        where = f"`vncomply {command}` with a bad {bad.variable}"
        if code is None:
            return f"{where}: did not exit"
        if code != 1 or bad.variable not in out or bad.secret in out or "Traceback" in out:
            return f"{where}: exit {code}, {out[-300:]!r}"
        return None

    failures = await asyncio.gather(*(one(bad) for bad in PER_VARIABLE))
    assert [f for f in failures if f] == []
