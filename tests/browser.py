"""Headless Chromium for the docs pages, as an officer's browser on a machine without internet: every
host but 127.0.0.1 is unresolvable. Three ways in: the rendered DOM (``--dump-dom``), a screenshot,
and the DevTools protocol for clicking through a page. A Chromium net log tells which requests the
page itself made."""

from __future__ import annotations

import contextlib
import json
import shutil
import struct
import subprocess
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (.ci/run installs it)")


def _argv(tmp: Path, *extra: str) -> list[str]:
    assert CHROMIUM is not None
    profile = tmp / "profile"
    profile.mkdir(parents=True, exist_ok=True)
    return [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra]


def load(url: str, tmp: Path, *, budget_ms: int = 20000) -> tuple[str, bytes, list[str]]:
    """Render ``url`` twice (the DOM, then a 1280x1600 screenshot): (DOM, PNG, URLs the page requested)."""
    netlog = tmp / "net.json"
    dom = subprocess.run(
        _argv(tmp, f"--log-net-log={netlog}", f"--virtual-time-budget={budget_ms}", "--dump-dom", url),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    png = tmp / "page.png"
    subprocess.run(
        _argv(
            tmp, f"--virtual-time-budget={budget_ms}", "--window-size=1280,1600", f"--screenshot={png}", url
        ),
        capture_output=True,
        timeout=120,
        check=True,
        cwd=tmp,
    )
    return dom, png.read_bytes(), page_requests(netlog, url)


def page_requests(netlog: Path, url: str) -> list[str]:
    """The URLs the page at ``url`` loaded: the page and what it initiated. (Chromium's own
    background requests, to its update and account services, have no page initiator.)"""
    log = json.loads(netlog.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    origin = "/".join(url.split("/")[:3])
    found = []
    for event in log["events"]:
        params = event.get("params", {})
        if event["type"] == start and (params.get("url") == url or params.get("initiator") == origin):
            found.append(params["url"])
    return found


def pixels(png: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB(A) bytes) of an 8-bit truecolour PNG (what Chromium writes)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, data, header = 8, b"", b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, body = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            data += body
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8, depth
    assert colour in (2, 6), colour
    bpp = 3 if colour == 2 else 4
    raw, stride, rows, prev = zlib.decompress(data), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows


def ink(png: bytes) -> float:
    """The share of pixels that differ from the most common colour: 0 for a blank page."""
    width, _, rows = pixels(png)
    bpp = len(rows[0]) // width
    counts: dict[bytes, int] = {}
    for row in rows[::4]:  # every 4th row is plenty
        for x in range(0, len(row), bpp * 4):
            px = row[x : x + 3]
            counts[px] = counts.get(px, 0) + 1
    total = sum(counts.values())
    return 1 - max(counts.values()) / total


class DevTools:
    """One page of a Chromium driven over the DevTools protocol (websocket)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.next_id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return message["result"]  # type: ignore[no-any-return]

    def js(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, seconds: float = 60) -> Any:
        """Poll until ``expression`` is truthy (the page renders asynchronously)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = self.js(expression)
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"the page never showed {what}")


@contextlib.contextmanager
def devtools(url: str, tmp: Path) -> Iterator[DevTools]:
    from websockets.sync.client import connect

    proc = subprocess.Popen(
        _argv(tmp, "--remote-debugging-port=0", "--window-size=1280,1600", url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = tmp / "profile" / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.exists() or not port_file.read_text().strip():
            assert time.monotonic() < deadline, "Chromium did not open its DevTools port"
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        pages = [t for t in httpx.get(f"http://127.0.0.1:{port}/json/list").json() if t["type"] == "page"]
        with connect(pages[0]["webSocketDebuggerUrl"], max_size=None) as ws:
            yield DevTools(ws)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
