"""`/docs` and `/redoc` work on a machine with no internet access: every asset comes from this
service (the pinned fastapi-offline package), the pages may not be framed nor load anything from
elsewhere (CSP), and in a real browser, with every host but 127.0.0.1 unresolvable, they render the
operations, the Authorize dialog works and "Try it out" reaches the same server."""

from __future__ import annotations

import base64
import hashlib
import re
import tomllib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser import devtools, ink, load, needs_chromium
from tests.factories import make_key, make_platform
from vncomply.app import create_app
from vncomply.kit.docs_pages import ASSETS_URL, assets_directory
from vncomply.kit.principal import Role

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("/docs", "/redoc")


@pytest.fixture
async def plain_client() -> AsyncIterator[httpx.AsyncClient]:
    """The app without a database: the pages need none."""
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def _csp(response: httpx.Response) -> dict[str, str]:
    # The page's own policy (another layer may add a second header; browsers apply both).
    policies = response.headers.get_list("content-security-policy")
    ours = next(p for p in policies if "default-src" in p)
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] for d in (x.strip() for x in ours.split(";")) if d}


@pytest.mark.parametrize("path", PAGES)
async def test_the_page_loads_only_from_here_and_forbids_framing(plain_client, path: str) -> None:
    r = await plain_client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    # Every script, stylesheet and icon is ours, by path; no absolute URL at all.
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs
    assert all(ref.startswith(ASSETS_URL + "/") for ref in refs), refs
    assert "http://" not in html
    assert "https://" not in html
    csp = _csp(r)
    assert csp["default-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["connect-src"] == "'self'"
    # Inline script only by hash: exactly the page's own bootstrap.
    inline = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    hashes = {
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'" for s in inline
    }
    assert set(csp["script-src"].split()) == {"'self'", *hashes}
    assert "'unsafe-inline'" not in csp["script-src"]
    for ref in refs:
        asset = await plain_client.get(ref)
        assert asset.status_code == 200, ref
        assert len(asset.content) > 1000, ref


def test_the_assets_are_the_pinned_package_not_copies() -> None:
    directory = Path(assets_directory())
    assert "fastapi_offline" in directory.parts
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"):
        assert (directory / name).is_file(), name
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(re.fullmatch(r"fastapi-offline==[\d.]+", d) for d in deps), deps
    assert not list((ROOT / "src").rglob("*.js")), "minified assets copied into src/"


async def test_fastapis_cdn_pages_are_gone(plain_client) -> None:
    r = await plain_client.get("/docs")
    assert "cdn.jsdelivr.net" not in r.text
    assert (await plain_client.get("/docs/oauth2-redirect")).status_code == 404


# --- in a browser -------------------------------------------------------------------------------


@pytest.fixture
async def officer_key(committed) -> str:
    async with committed() as s:
        pid = await make_platform(s, "DocsCo")
        _, key = await make_key(s, Role.officer, platform_id=pid)
        await s.commit()
    return key


@pytest.fixture
def server(officer_key: str, tmp_path: Path) -> Iterator[str]:
    from tests.live import api

    with api(tmp_path) as base:
        yield base


def _document(base: str) -> dict[str, Any]:
    return httpx.get(f"{base}/openapi.json").json()  # type: ignore[no-any-return]


@needs_chromium
@pytest.mark.slow
def test_swagger_ui_renders_offline(server: str, tmp_path: Path) -> None:
    dom, png, requested = load(f"{server}/docs", tmp_path)
    paths = set(_document(server)["paths"])
    shown = set(re.findall(r'class="opblock-summary-path" data-path="([^"]+)"', dom))
    assert shown == paths, paths ^ shown
    assert re.search(r'<button class="btn authorize[^"]*"[^>]*>.*?Authorize', dom, re.DOTALL)
    assert all(u.startswith(server + "/") for u in requested), requested
    assert f"{server}/openapi.json" in requested
    assert ink(png) > 0.05, "the screenshot is blank"


@needs_chromium
@pytest.mark.slow
def test_redoc_renders_offline(server: str, tmp_path: Path) -> None:
    dom, png, requested = load(f"{server}/redoc", tmp_path)
    document = _document(server)
    summaries = {op["summary"] for ops in document["paths"].values() for op in ops.values()}
    missing = {s for s in summaries if s.replace("&", "&amp;") not in dom}
    assert not missing, missing
    for group in document["x-tagGroups"]:
        assert group["name"] in dom
    # Only what this server serves (ReDoc's own "powered by" logo is refused by the CSP).
    assert all(u.startswith(server + "/") for u in requested), requested
    assert ink(png) > 0.05, "the screenshot is blank"


@needs_chromium
@pytest.mark.slow
def test_authorize_then_try_it_out_reaches_this_server(server: str, officer_key: str, tmp_path: Path) -> None:
    with devtools(f"{server}/docs", tmp_path) as page:
        page.wait_for("!!document.querySelector('.btn.authorize')", "the Authorize button")
        page.js("document.querySelector('.btn.authorize').click()")
        page.wait_for("!!document.querySelector('.modal-ux input')", "the Authorize dialog")
        # React keeps its own copy of an input's value: set it the way typing would.
        page.js(
            "(() => { const i = document.querySelector('.modal-ux input');"
            " Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(i, "
            f"{officer_key!r}); i.dispatchEvent(new Event('input', {{bubbles: true}})); }})()"
        )
        page.js("document.querySelector('.modal-ux button.modal-btn.auth.authorize').click()")
        page.wait_for("!!document.querySelector('.modal-ux .btn-done')", "the authorized state")
        page.js("document.querySelector('.modal-ux .btn-done').click()")

        block = "#operations-rulebook-get_rulebook_v1_rulebook_get"
        page.js(f"document.querySelector('{block} .opblock-summary-control').click()")
        page.wait_for(f"!!document.querySelector('{block} .try-out__btn')", "Try it out")
        page.js(f"document.querySelector('{block} .try-out__btn').click()")
        page.wait_for(f"!!document.querySelector('{block} .execute')", "Execute")
        page.js(f"document.querySelector('{block} .execute').click()")
        status = page.wait_for(
            f"document.querySelector('{block} .live-responses-table tbody .response-col_status')?.innerText",
            "a response",
        )
        body = page.js(
            f"document.querySelector('{block} .live-responses-table tbody .microlight')?.innerText"
        )
    assert status.strip().startswith("200"), status
    assert "takedown.standard.v1" in body
