"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs too much on the permission-check hot path).

- request id: accepted from ``X-Request-ID`` when sane, else generated; echoed on every response;
- metrics: count and latency by route *template* (bounded label cardinality);
- body limit: 413 problem for bodies over ``max_body_bytes`` except on streaming routes.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vncomply.errors import PayloadTooLarge
from vncomply.metrics import HTTP_LATENCY, HTTP_REQUESTS
from vncomply.problems import problem_response, request_id_var

_RID_OK = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int, streaming_paths: Iterable[str]) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.streaming = tuple(streaming_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = None
        length = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                rid = candidate if _RID_OK.match(candidate) else None
            elif name == b"content-length":
                length = value
        rid = rid or uuid.uuid4().hex
        token = request_id_var.set(rid)
        rid_header = (b"x-request-id", rid.encode())
        status_holder = [500]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                message["headers"] = [*message.get("headers", []), rid_header]
            await send(message)

        start = time.perf_counter()
        try:
            path: str = scope["path"]
            limited = not path.startswith(self.streaming)
            if limited and length is not None and _too_big(length, self.max_body):
                await self._too_large(scope, receive, send_wrapper)
                return
            if limited:
                receive = _counting(receive, self.max_body)
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "<unmatched>"
            HTTP_REQUESTS.labels(template, str(status_holder[0])).inc()
            HTTP_LATENCY.labels(template).observe(time.perf_counter() - start)
            request_id_var.reset(token)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        resp = problem_response(
            413,
            "Request body too large",
            f"Bodies are limited to {self.max_body} bytes; send fewer items per request "
            "(or use the NDJSON bulk endpoint for identities).",
            slug="payload-too-large",
            instance=scope["path"],
        )
        await resp(scope, receive, send)


def _too_big(raw: bytes, limit: int) -> bool:
    try:
        return int(raw) > limit
    except ValueError:
        return False


def _counting(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise PayloadTooLarge(f"Bodies are limited to {limit} bytes; send fewer items per request.")
        return message

    return wrapped
