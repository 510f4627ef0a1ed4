"""The FastAPI application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import cast

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vncomply import __version__, registry
from vncomply.auth.gate import AuthGate
from vncomply.config import get_settings
from vncomply.identities.fastpath import PermissionFastPath
from vncomply.kit.db import dispose_engine
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
authorities' takedown, block and disclosure orders, and every statutory clock.

Authenticate with `Authorization: Bearer vnc_…`. Errors are RFC 9457 `application/problem+json`.
Creating POSTs accept `Idempotency-Key`. Lists use cursor pagination (`limit`, `cursor` →
`next_cursor`). All times are ISO 8601 with a time zone (`2026-11-25T08:00:00Z` or
`2026-11-25T15:00:00+07:00`; a time without one is a 422) and are answered in UTC.
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
    when the cause is ours (the streaming body limit's 413), answer with the cause."""
    http_handler = _handler(app, StarletteHTTPException)
    domain_handler = _handler(app, DomainError)

    async def handler(request: Request, exc: Exception) -> Response:
        if isinstance(exc.__cause__, DomainError):
            return await domain_handler(request, exc.__cause__)
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
    )
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
