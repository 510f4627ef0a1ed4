"""The HTML report rendered by a real browser: headless Chromium (Debian package `chromium`; .ci/run
installs it) takes a screenshot of the page, served from 127.0.0.1 with the headers the API sent,
in English and in Vietnamese. The PNG must show the page (not blank), and the browser's own network
log must show that the page asked for nothing and that no connection left the machine (every host
but 127.0.0.1 resolves to nothing)."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import auth
from tests.reports import helpers, png
from tests.reports.helpers import PERIOD

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary (Debian: apt-get install chromium; .ci/run installs it)"
)
WINDOW = (900, 1300)


class Page:
    """One page on 127.0.0.1, answered with the API's body and headers; records what was asked."""

    def __init__(self, body: bytes, headers: dict[str, str]) -> None:
        self.body, self.headers, self.requested = body, headers, []
        page = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                page.requested.append(self.path)
                if self.path != "/report.html":
                    self.send_error(404)
                    return
                self.send_response(200)
                for k, v in page.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(page.body)))
                self.end_headers()
                self.wfile.write(page.body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/report.html"

    def __enter__(self) -> Page:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def screenshot(url: str, out: Path) -> dict[str, Any]:
    """Chromium's screenshot of ``url`` into ``out``; returns its network log."""
    netlog = out.with_suffix(".netlog.json")
    assert CHROMIUM is not None
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={out.parent / ('profile-' + out.stem)}",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            f"--log-net-log={netlog}",
            f"--screenshot={out}",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            url,
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return json.loads(netlog.read_text())  # type: ignore[no-any-return]


def connections(log: dict[str, Any]) -> tuple[list[tuple[str, str]], list[str]]:
    """(initiator, url) of every URL request, and the address of every TCP connection attempt."""
    kinds = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    requests, tcp = [], []
    for e in log["events"]:
        kind, p = kinds[e["type"]], e.get("params") or {}
        if kind == "URL_REQUEST_START_JOB":
            requests.append((p.get("initiator", ""), p.get("url", "")))
        elif kind in ("TCP_CONNECT", "TCP_CONNECT_ATTEMPT") and "address" in p:
            tcp.append(p["address"])
        elif kind == "TCP_CONNECT" and "address_list" in p:
            tcp.extend(p["address_list"])
    return requests, tcp


@pytest.fixture
async def pages(db: AsyncSession, client: httpx.AsyncClient) -> dict[str, httpx.Response]:
    w = await helpers.build(db, client)
    out = {}
    for lang in ("en", "vi"):
        r = await client.get(
            f"/v1/platforms/{w.keys.platform_id}/reports/compliance",
            params={**PERIOD, "format": "html", "lang": lang},
            headers=auth(w.keys.officer),
        )
        assert r.status_code == 200, r.text
        out[lang] = r
    return out


def test_html_renders_in_headless_chromium_in_both_languages(
    pages: dict[str, httpx.Response], tmp_path: Path
) -> None:
    images = {}
    for lang, r in pages.items():
        headers = {k: r.headers[k] for k in ("content-type", "content-security-policy")}
        with Page(r.content, headers) as page:
            log = screenshot(page.url, tmp_path / f"report-{lang}.png")
        img = png.read((tmp_path / f"report-{lang}.png").read_bytes())
        assert (img.width, img.height) == WINDOW
        # Not blank: text, table rules and the charts' bars put ink on a good part of the page.
        assert img.ink() > 0.02 * img.width * img.height, lang
        assert (37, 99, 235) in img.colours(), "the charts' bars are not on the page"
        images[lang] = img.pixels
        # The page asked for itself only (a browser may add /favicon.ico, answered by 127.0.0.1).
        assert page.requested[0] == "/report.html"
        assert set(page.requested) <= {"/report.html", "/favicon.ico"}
        requests, tcp = connections(log)
        origin = page.url.rsplit("/", 1)[0]
        from_page = [u for initiator, u in requests if initiator == origin]
        assert all(u.startswith(origin + "/") for u in from_page), from_page
        # Chromium's own background requests (update checks…) find no host: no TCP connection
        # was attempted to anything but 127.0.0.1.
        assert tcp, "the netlog shows no connection at all: is it capturing?"
        assert all(a.startswith("127.0.0.1:") for a in tcp), tcp
    assert images["en"] != images["vi"]  # the labels differ
