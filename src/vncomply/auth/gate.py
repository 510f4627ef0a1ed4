"""The edge gate: every request for a route with an authorization rule shows a valid key *before*
any of its body is read, and failed authentication is cheap and throttled per client address.

FastAPI reads and parses a body before it runs a route's dependencies, so checking the key in a
dependency lets anyone without a key make the API receive (and buffer) a body. This pure ASGI layer
sits in front of FastAPI (inside the request-id/metrics middleware, behind the permission check's
fast path): it matches the request against the routes that have a ``require(...)`` rule, looks the
key up (once; the cache in auth/service.py), puts the principal in the scope for the route's
dependencies, and answers a missing or unknown key itself with the 401 problem.

Failures are counted per client address (the ASGI client host: behind a proxy, uvicorn's
``--proxy-headers``/``--forwarded-allow-ips`` decide what that is) with the GCRA limiter in
kit/ratelimit.py, on failures only, so valid keys from the same address are never slowed: past
``auth_failure_limit`` the answer is a 429 with ``Retry-After``. While an address is refused, this
process remembers it and answers without asking Redis again.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from vncomply.auth.deps import PRINCIPAL_SCOPE, route_roles
from vncomply.auth.service import authenticate
from vncomply.config import get_settings
from vncomply.kit import ratelimit
from vncomply.kit.errors import RateLimited, Unauthenticated
from vncomply.kit.middleware import CLOSE_UNREAD
from vncomply.kit.principal import Principal
from vncomply.kit.problems import database_unavailable, domain_problem, unavailable_response


def bearer_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The credentials of an ``Authorization: Bearer …`` header, or None."""
    for name, value in headers:
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            return credentials if scheme.lower() == "bearer" else None
    return None


class AuthGate:
    def __init__(self, app: ASGIApp, routes: Iterable[BaseRoute]) -> None:
        self.app = app
        # The routes that need a key, by method (a request is matched only against its method's).
        self.guarded: dict[str, list[APIRoute]] = {}
        for route in routes:
            if isinstance(route, APIRoute) and route_roles(route) is not None:
                for method in route.methods or ():
                    self.guarded.setdefault(method, []).append(route)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if PRINCIPAL_SCOPE in scope:  # the fast path looked the key up already
            principal: Principal | None = scope[PRINCIPAL_SCOPE]
        else:
            route = self._guarded_route(scope)
            if route is None:  # public, unknown (404) or another method (405): no key needed
                await self.app(scope, receive, send)
                return
            scope["route"] = route  # a refusal is counted under the route's template
            raw = bearer_token(scope["headers"])
            try:
                principal = None if raw is None else await authenticate(raw)
            except Exception as exc:
                if not database_unavailable(exc):
                    raise
                await unavailable_response(scope["path"])(scope, receive, send)
                return
            scope[PRINCIPAL_SCOPE] = principal
        if principal is None:
            await _refuse(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _guarded_route(self, scope: Scope) -> APIRoute | None:
        for route in self.guarded.get(scope["method"], ()):
            if route.matches(scope)[0] is Match.FULL:
                return route
        return None


# Addresses refused recently, until when (monotonic): a refused address costs no Redis call.
_refused_until: dict[str, float] = {}
_REFUSED_MAX = 10_000


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    client = scope.get("client")
    retry = await failure_retry_after(client[0] if client else "unknown")
    if retry is None:
        error: Unauthenticated | RateLimited = Unauthenticated()
    else:
        error = RateLimited(
            f"Too many requests without a valid API key from this address; retry after {retry} s "
            "with a valid key in `Authorization: Bearer vnc_…`.",
            headers={"Retry-After": str(retry)},
        )
    error.headers.update(CLOSE_UNREAD)  # the body (if any) is never read
    await domain_problem(error, scope["path"])(scope, receive, send)


async def failure_retry_after(host: str) -> int | None:
    """Count one failed authentication from ``host``; the seconds it must wait when it is over its
    limit, else None (also when Redis cannot be asked: availability first, as for keys)."""
    now = time.monotonic()
    until = _refused_until.get(host)
    if until is not None:
        if until > now:
            return math.ceil(until - now)
        del _refused_until[host]
    rate, burst = get_settings().auth_failure_limit
    decision = await ratelimit.check(f"authfail:{host}", rate, burst)
    if decision is None or decision.allowed:
        return None
    if len(_refused_until) >= _REFUSED_MAX:
        _refused_until.clear()
    _refused_until[host] = now + decision.retry_after
    return decision.retry_after


def forget() -> None:
    """Forget the refused addresses (tests)."""
    _refused_until.clear()
