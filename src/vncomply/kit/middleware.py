"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs too much on the permission-check hot path).

- request id: accepted from ``X-Request-ID`` when sane, else generated; echoed on every response;
- metrics: count and latency by route *template* (bounded label cardinality);
- body limit (``BodyLimitMiddleware``): 413 problem for bodies over ``max_body_bytes``, before they
  are read when the length is declared and as they arrive otherwise. A streaming route (an exact
  method and path) is exempt: a declared length over its own cap is a 413 at once, and the route
  counts the rest itself (so it can say what it stored before the cap).
"""

from __future__ import annotations

import itertools
import os
import re
import time
from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vncomply.kit.errors import PayloadTooLarge
from vncomply.kit.metrics import HTTP_LATENCY, HTTP_REQUESTS
from vncomply.kit.problems import problem_response, request_id_var

_RID_OK = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Request ids: 64 random bits per process plus a counter. Unique like a uuid4 (per process start),
# without a getrandom() system call on every request (it was 5 % of the permission check's CPU).
_RID_PREFIX = os.urandom(8).hex()
_rid_counter = itertools.count(1)


def _reseed() -> None:  # a forked worker (gunicorn --preload) must not repeat its parent's ids
    global _RID_PREFIX, _rid_counter
    _RID_PREFIX = os.urandom(8).hex()
    _rid_counter = itertools.count(1)


os.register_at_fork(after_in_child=_reseed)


# On a refusal sent before the body was read: the server must drop the connection rather than keep
# it for a next request while the client goes on sending (uvicorn would read and discard the rest).
CLOSE_UNREAD = {"Connection": "close"}


def new_request_id() -> str:
    return f"{_RID_PREFIX}{next(_rid_counter):016x}"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                rid = candidate if _RID_OK.match(candidate) else None
        rid = rid or new_request_id()
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
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "<unmatched>"
            _observe(template, status_holder[0], time.perf_counter() - start)
            request_id_var.reset(token)


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int, streaming: Mapping[tuple[str, str], int]) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.streaming = dict(streaming)  # (method, path) → that route's own cap

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.streaming.get((scope["method"], scope["path"]))
        limit = self.max_body if cap is None else cap
        for name, value in scope["headers"]:
            if name == b"content-length":
                if _too_big(value, limit):
                    await _too_large(scope, receive, send, limit, streaming=cap is not None)
                    return
                break
        await self.app(scope, receive if cap is not None else _counting(receive, limit), send)


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int, *, streaming: bool) -> None:
    advice = (
        "split the stream into several requests."
        if streaming
        else "send fewer items per request (or use the NDJSON bulk endpoint for identities)."
    )
    resp = problem_response(
        413,
        "Request body too large",
        f"Bodies are limited to {limit} bytes here; {advice}",
        slug="payload-too-large",
        instance=scope["path"],
        headers=CLOSE_UNREAD,
    )
    await resp(scope, receive, send)


# Labelled children by (route template, status): `labels()` costs a lock and a dict build per call.
# Bounded: templates come from the route table (or "<unmatched>"), statuses from the app.
_children: dict[tuple[str, int], tuple[Any, Any]] = {}


def _observe(template: str, status: int, seconds: float) -> None:
    child = _children.get((template, status))
    if child is None:
        child = _children[(template, status)] = (
            HTTP_REQUESTS.labels(template, str(status)),
            HTTP_LATENCY.labels(template),
        )
    child[0].inc()
    child[1].observe(seconds)


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
                raise PayloadTooLarge(
                    f"Bodies are limited to {limit} bytes; send fewer items per request.",
                    headers=dict(CLOSE_UNREAD),
                )
        return message

    return wrapped
