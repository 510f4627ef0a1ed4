"""The FastAPI application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vncomply import __version__, openapi, registry
from vncomply.auth.gate import AuthGate
from vncomply.config import get_settings
from vncomply.identities.fastpath import PermissionFastPath
from vncomply.kit.db import dispose_engine
from vncomply.kit.docs_pages import install_docs_pages
from vncomply.kit.errors import DomainError
from vncomply.kit.headers import SecurityHeadersMiddleware
from vncomply.kit.logs import configure_logging
from vncomply.kit.middleware import BodyLimitMiddleware, RequestContextMiddleware
from vncomply.kit.problems import install_problem_handlers, log_unhandled
from vncomply.kit.redis import close_redis
from vncomply.registry import STREAMING_ROUTES

Handler = Callable[[Request, Exception], Awaitable[Response]]


def _handler(app: FastAPI, exc_class: type[Exception]) -> Handler:
    return cast(Handler, app.exception_handlers[exc_class])


DESCRIPTION = """
**vncomply** keeps foreign social platforms operating in Vietnam compliant with Decree 147/2024 and
the Cybersecurity Law: verified identities (encrypted), the per-post permission check, the
authorities' takedown, block and disclosure orders, and every statutory clock. The sections below are
grouped by who reads them: platform integration, authorities, compliance officers, operators, health.
Guides: `docs/integration.md` (a platform's engineers) and `docs/officer.md` (a compliance officer).

### Keys
Every call but the health checks needs an API key: `Authorization: Bearer vnc_…` (here: the
**Authorize** button). An operator issues keys with `POST /v1/api-keys` (role `platform` for a
platform's backend, `officer` for its compliance officers, `authority` for an authority, `admin`);
the key is shown once. The first admin key comes from the server: `vncomply up` prints one,
`vncomply api-key create --role admin` makes one, or `VNCOMPLY_BOOTSTRAP_ADMIN_KEY` registers
yours. A key sees only its own platform's (or authority's) data: anything else answers 404.

### Errors
Every error is `application/problem+json` (RFC 9457, the `Problem` schema): switch on `type`, show
`detail` (it says what to send instead), quote `request_id` to support. A 422 lists every invalid
part of the request in `errors` (`field`, `message`, `code`) at once. 409 means the resource is not in
a state that allows the operation (`current_state` says which).

### Idempotency
Creating POSTs accept an `Idempotency-Key` header (1-200 printable characters): a retry with the
same key and body within 24 h replays the first answer (`Idempotent-Replayed: true`) and changes
nothing; the same key with another body is a 422. Authorities' orders are also unique by their
`reference_no`: resending one returns the existing order.

### Pagination
Lists answer `{items, next_cursor}`, oldest (or soonest due) first. Pass `limit` (1-200, default 50)
and, for the next page, `cursor` = the previous page's `next_cursor` unchanged; `next_cursor` is
null on the last page.

### Rate limits
Each key has a rate and a burst (per role; a platform's backend by default 2,000 requests per second,
bursts of 4,000; other roles 50, bursts of 100). Answers carry `RateLimit-Limit`,
`RateLimit-Remaining` and `RateLimit-Reset`; past the limit the answer is a 429 with `Retry-After`
(seconds). Repeated requests with a wrong key are limited per client address, also with a 429.

### Time
Times are ISO 8601 with a time zone, in UTC on the way out: `2026-11-25T08:00:00Z`. Send `Z` or
an offset (`2026-11-25T15:00:00+07:00`, Vietnam, Asia/Ho_Chi_Minh, UTC+7); a time without one is a
422. Dates are `YYYY-MM-DD`. Deadlines count from when a request reached vncomply; laws take effect
at 00:00 Vietnam time; reports also show Asia/Ho_Chi_Minh.
"""


class UnhandledErrorMiddleware:
    """Renders unhandled exceptions (a failed commit included) *inside* the request-context
    middleware, so the 500 carries the request id and is counted by route. Starlette's own
    handler for `Exception` runs outside every middleware, after the request id is gone."""

    def __init__(self, app: ASGIApp, handler: Handler) -> None:
        self.app = app
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            if started:
                # Too late for a problem response; logged here (request id, no message), not
                # re-raised: the server's own log of it would print the message, which may be PII.
                log_unhandled(exc, path=scope["path"])
                return
            response = await self.handler(Request(scope), exc)
            await response(scope, receive, send)


def _unwrap_body_errors(app: FastAPI) -> None:
    """FastAPI turns any error raised while reading the body into a 400 "error parsing the body";
    when the cause is ours (the streaming body limit's 413), answer with the cause; when it is a
    body that does not decode (not UTF-8), the 422 of any body that is not JSON, which says what
    to send (a 400 is in no operation's documented statuses)."""
    http_handler = _handler(app, StarletteHTTPException)
    domain_handler = _handler(app, DomainError)
    validation_handler = _handler(app, RequestValidationError)

    async def handler(request: Request, exc: Exception) -> Response:
        if isinstance(exc.__cause__, DomainError):
            return await domain_handler(request, exc.__cause__)
        if (
            isinstance(exc, StarletteHTTPException)
            and exc.status_code == 400
            and isinstance(exc.__cause__, ValueError)
        ):
            invalid = [{"type": "json_invalid", "loc": ("body",), "msg": "JSON decode error", "input": {}}]
            return await validation_handler(request, RequestValidationError(invalid))
        return await http_handler(request, exc)

    app.add_exception_handler(StarletteHTTPException, handler)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    # Everything imported and built so far lives as long as the process: move it out of the
    # collector's reach, so a full collection scans only what requests allocate (it otherwise
    # walks the whole framework's object graph, a pause visible in the hot path's p99).
    gc.collect()
    gc.freeze()
    yield
    await close_redis()
    await dispose_engine()


def create_app() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    app = VncomplyAPI(
        title="vncomply",
        description=DESCRIPTION,
        version=__version__,
        openapi_tags=registry.openapi_tags(),
        lifespan=lifespan,
        # Our own pages, with assets served from here (kit/docs_pages.py), not FastAPI's CDN ones.
        docs_url=None,
        redoc_url=None,
    )
    install_docs_pages(app)
    install_problem_handlers(app)
    _unwrap_body_errors(app)
    for router in registry.routers():
        app.include_router(router)
    # Innermost (just outside the router): renders unhandled errors while the request id is set.
    app.add_middleware(UnhandledErrorMiddleware, handler=_handler(app, Exception))
    return app


class VncomplyAPI(FastAPI):
    """FastAPI with our own layers *outside* Starlette's, outermost first: request id and metrics;
    the permission check's fast path (identities/fastpath.py), which answers most checks without
    entering the rest at all; the edge gate (auth/gate.py), which refuses a request without a valid
    key before its body is read; the body limit; then FastAPI."""

    def openapi(self) -> dict[str, Any]:
        """FastAPI's document, completed once from the routes' declarations (vncomply/openapi.py)."""
        if self.openapi_schema is None:
            openapi.complete(super().openapi(), self.routes)
        return self.openapi_schema  # type: ignore[return-value]

    def build_middleware_stack(self) -> ASGIApp:
        settings = get_settings()
        routes = registry.routes()
        streaming = {route: getattr(settings, name) for route, name in STREAMING_ROUTES.items()}
        limited = BodyLimitMiddleware(
            super().build_middleware_stack(), settings.max_body_bytes, streaming=streaming
        )
        inner = PermissionFastPath(AuthGate(limited, routes), routes)
        guarded = UnhandledErrorMiddleware(inner, handler=_handler(self, Exception))
        context = RequestContextMiddleware(guarded)
        return SecurityHeadersMiddleware(context)  # outermost: every response, fast path included
