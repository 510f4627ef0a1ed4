"""``/docs`` (Swagger UI) and ``/redoc``, served entirely by this service.

FastAPI's own pages load their JavaScript and CSS from a CDN: on a machine without internet access
(onshore deployments, locked-down networks) they are blank. The assets here come from the pinned
``fastapi-offline`` package, read from its installed files (``importlib.resources``) and mounted at
``/docs-assets``; nothing is copied into this repository and nothing is fetched from elsewhere.

Each page carries a Content-Security-Policy that allows only this origin: scripts from
``/docs-assets`` plus the page's one inline bootstrap script, by its hash (computed from the page as
rendered, so it cannot drift); inline styles (both UIs set them from script); ``data:`` images
(Swagger UI's icons); ``blob:`` workers (ReDoc's search); requests only to this origin ("Try it
out"); never framed. Other response headers (nosniff, referrer policy, X-Frame-Options) are set
for every response elsewhere.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS_URL = "/docs-assets"
ASSETS_PACKAGE = ("fastapi_offline", "static")
SWAGGER_PARAMETERS: dict[str, Any] = {
    # No badge from validator.swagger.io (a cross-origin image, and the document is ours).
    "validatorUrl": None,
    "displayRequestDuration": True,
    "filter": True,
    "tryItOutEnabled": False,
    "persistAuthorization": False,  # a key never lands in the browser's storage
    "docExpansion": "list",
}
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def assets_directory() -> str:
    """The installed directory of the UI assets (a real directory: StaticFiles serves from disk)."""
    package, folder = ASSETS_PACKAGE
    return str(files(package).joinpath(folder))


def content_security_policy(html: str) -> str:
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in _INLINE_SCRIPT.findall(html)
    )
    script = f"script-src 'self' {hashes}".rstrip()
    return "; ".join(
        (
            "default-src 'self'",
            script,
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "worker-src 'self' blob:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


def install_docs_pages(app: FastAPI) -> None:
    """Mount the assets and add ``/docs`` and ``/redoc`` (the app is built with both URLs None)."""
    assert app.openapi_url is not None
    openapi_url, title = app.openapi_url, app.title
    app.mount(ASSETS_URL, StaticFiles(directory=assets_directory()), name="docs-assets")

    # Rendered once: the pages depend on nothing but the root path, fixed for a deployment.
    pages: dict[tuple[str, str], tuple[str, str]] = {}

    def render(kind: str, root: str) -> HTMLResponse:
        if (kind, root) not in pages:
            if kind == "swagger":
                rendered = get_swagger_ui_html(
                    openapi_url=root + openapi_url,
                    title=f"{title} - API docs",
                    swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
                    swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
                    swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
                    oauth2_redirect_url=None,
                    swagger_ui_parameters=SWAGGER_PARAMETERS,
                )
            else:
                rendered = get_redoc_html(
                    openapi_url=root + openapi_url,
                    title=f"{title} - API reference",
                    redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
                    redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
                    with_google_fonts=False,
                )
            html = bytes(rendered.body).decode()
            pages[kind, root] = html, content_security_policy(html)
        html, csp = pages[kind, root]
        return HTMLResponse(html, headers={"Content-Security-Policy": csp})

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return render("swagger", request.scope.get("root_path", ""))

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        return render("redoc", request.scope.get("root_path", ""))
