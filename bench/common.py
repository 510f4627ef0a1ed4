"""Shared limit references for the benchmarks: each prints the figure, its reference and the ratio
measured in the same run (on a shared machine only same-run ratios are stable)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import statistics
import time
from collections.abc import Callable
from typing import TypeVar

import aiohttp
import httpx

T = TypeVar("T")
# Each figure and its reference are measured this many times, alternating (A B A B …), and the
# medians reported: on a shared machine a single pair can differ by ±30 % from one minute to the next.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))

SECRET = b"bench-secret"


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


def interleaved(runs: dict[str, Callable[[], T]], rounds: int = ROUNDS) -> dict[str, list[T]]:
    """Run every measurement once per round, in turn, so each figure and its reference see the
    same minutes of the machine's load; returns each one's results in round order."""
    out: dict[str, list[T]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            out[name].append(run())
    return out


def median_ratio(figures: list[float], references: list[float]) -> float:
    """The median of the per-round ratios (each figure against the reference of its own round)."""
    return statistics.median(f / r for f, r in zip(figures, references, strict=True) if r)


def beside(name: str, figure: float, reference: float, unit: str, target: float) -> None:
    """One line: figure, reference, ratio, target ratio and whether it is met."""
    ratio = figure / reference if reference else float("nan")
    met = "met" if ratio >= target else "MISSED"
    print(
        f"{name}: {figure:,.1f} {unit} vs reference {reference:,.1f} {unit} = {ratio:.2f}x "
        f"(target >= {target}x: {met}; {load()})"
    )


def against(name: str, figure: float, reference: float, unit: str) -> None:
    """One line for a reference that has no target: figure, reference and the ratio."""
    ratio = figure / reference if reference else float("nan")
    print(f"{name}: {figure:,.1f} {unit} vs reference {reference:,.1f} {unit} = {ratio:.2f}x ({load()})")


def _signed(i: int) -> tuple[bytes, str]:
    body = b'{"id":"%d","type":"takedown.received","data":{}}' % i
    ts = str(int(time.time()))
    sig = hmac.new(SECRET, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return body, f"t={ts},v1={sig}"


async def streams_sender(port: int, n: int, concurrency: int) -> float:
    """Signed bodies as keep-alive HTTP/1.1 straight on asyncio streams: the machine's ceiling.
    Returns requests per second."""
    todo = iter(range(n))

    async def conn() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for i in todo:
            body, sig = _signed(i)
            writer.write(
                b"POST /hook HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                b"webhook-signature: %s\r\ncontent-length: %d\r\n\r\n%s" % (sig.encode(), len(body), body)
            )
            await reader.readuntil(b"\r\n\r\n")  # the receiver answers with content-length: 0
        writer.close()

    t = time.perf_counter()
    await asyncio.gather(*(conn() for _ in range(concurrency)))
    return n / (time.perf_counter() - t)


async def httpx_sender(port: int, n: int, concurrency: int) -> float:
    """The same signed POSTs through one bare httpx.AsyncClient (no outbox, no database)."""
    todo = iter(range(n))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as c:

        async def conn() -> None:
            for i in todo:
                body, sig = _signed(i)
                r = await c.post(
                    f"http://127.0.0.1:{port}/hook",
                    content=body,
                    headers={"content-type": "application/json", "webhook-signature": sig},
                )
                r.raise_for_status()

        t = time.perf_counter()
        await asyncio.gather(*(conn() for _ in range(concurrency)))
        return n / (time.perf_counter() - t)


Request = tuple[str, bytes]  # (kind, the whole HTTP/1.1 request)


async def keepalive_load(
    port: int, next_request: Callable[[int, int], Request], seconds: float, conns: int
) -> tuple[dict[str, list[float]], dict[str, int]]:
    """A load generator on bare asyncio streams (one keep-alive connection per ``conns``), much
    lighter than an HTTP client library, so that it is not the bottleneck and can time each
    request by kind (wrk cannot tell kinds apart). ``next_request(connection, seq)`` gives the
    next request; responses must carry ``content-length`` (every vncomply JSON answer does).
    Returns per-kind latencies (seconds) of 2xx answers and per-kind counts of the others."""
    latencies: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    stop_at = time.perf_counter() + seconds

    async def conn(n: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        seq = 0
        try:
            while time.perf_counter() < stop_at:
                kind, request = next_request(n, seq)
                seq += 1
                t = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                took = time.perf_counter() - t
                if head[9:10] == b"2":
                    latencies.setdefault(kind, []).append(took)
                else:
                    errors[kind] = errors.get(kind, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*(conn(i) for i in range(conns)))
    return latencies, errors


def percentile_ms(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else float("nan")


def _proc_stat(pid: int | str) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of a live process, from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pids() -> list[str]:
    return [entry for entry in os.listdir("/proc") if entry.isdigit()]


def cpu_seconds(pid: int, children: bool = True) -> float:
    """User + system CPU seconds of a process (and of its live child processes) from /proc."""
    own = _proc_stat(pid)
    total = own[1] if own else 0.0
    if children:
        for entry in _pids():
            stat = _proc_stat(entry)
            if stat is not None and stat[0] == pid:
                total += stat[1]
    return total


def postgres_cpu_seconds(database: str) -> float:
    """CPU seconds of the live PostgreSQL backends connected to ``database`` (their process title
    names it; other work on a shared server is not counted). Backends come and go: take the
    difference over a run in which the connections stay open."""
    total = 0.0
    for entry in _pids():
        try:
            with open(f"/proc/{entry}/cmdline") as f:
                title = f.read()
        except OSError:
            continue
        if title.startswith("postgres:") and f" {database} " in title:
            stat = _proc_stat(entry)
            total += stat[1] if stat else 0.0
    return total


async def aiohttp_sender(port: int, n: int, concurrency: int) -> float:
    """The same signed POSTs through one bare aiohttp.ClientSession (no outbox, no database): the
    client the webhook sender uses, without anything of vncomply around it."""
    todo = iter(range(n))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as c:

        async def conn() -> None:
            for i in todo:
                body, sig = _signed(i)
                async with c.post(
                    f"http://127.0.0.1:{port}/hook",
                    data=body,
                    headers={"content-type": "application/json", "webhook-signature": sig},
                    allow_redirects=False,
                ) as r:
                    await r.read()
                    r.raise_for_status()

        t = time.perf_counter()
        await asyncio.gather(*(conn() for _ in range(concurrency)))
        return n / (time.perf_counter() - t)


def scratch_database(name: str) -> str:
    """``VNCOMPLY_DATABASE_URL`` when it is set; else a fresh, migrated ``name`` on the server of
    ``VNCOMPLY_BENCH_PG`` (default the local one), set as ``VNCOMPLY_DATABASE_URL`` for this run,
    so that ``make bench`` runs the script with no set-up of its own."""
    import subprocess
    import sys
    from pathlib import Path

    import psycopg

    if os.environ.get("VNCOMPLY_DATABASE_URL"):
        return os.environ["VNCOMPLY_DATABASE_URL"]
    server = os.environ.get("VNCOMPLY_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')
    url = f"{server}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    os.environ["VNCOMPLY_DATABASE_URL"] = url
    root = Path(__file__).resolve().parents[1]
    alembic = Path(sys.executable).parent / "alembic"
    subprocess.run([str(alembic), "upgrade", "head"], cwd=root, check=True, capture_output=True)
    return url
