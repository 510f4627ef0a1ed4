"""Shared limit references for the benchmarks: each prints the figure, its reference and the ratio
measured in the same run (on a shared machine only same-run ratios are stable)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import time

import aiohttp
import httpx

SECRET = b"bench-secret"


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


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
