"""The permission check's fast path: ``GET /v1/accounts/{account_id}/permissions`` answered in a
pure ASGI layer in front of FastAPI's routing and dependency injection.

Platforms call the check on every post, so it must cost little more than the primary-key lookup
it is (issue 4: at least 0.9 times a bare ASGI app's throughput). The full FastAPI stack spends
most of a request on dependency resolution and the ORM session; this layer skips both *only* in
the common case, and hands every other request on to the regular route, which stays the single
authority on errors and is what the OpenAPI document describes:

- the API key must be valid (the same cached lookup the route uses) and have a role the route's
  ``require(...)`` admits (read from the route itself, so the rule is written once) — otherwise the
  request is handed on with the key's principal (or "unknown") in the scope: the edge gate answers
  an unknown key (401, or 429 past the per-address failure limit) and the route the 403, neither
  looking the key up again;
- the account id must match the documented pattern — otherwise the route answers the 422;
- the rate limit (``auth.deps.key_rate``, the route's own) must admit the request (a local lease, or
  one Redis call) — otherwise the route answers the 429 with its headers. With Redis unreachable
  both paths serve (availability first).

What it answers is byte-for-byte what the route answers: both call ``permissions.check_account``
(one lookup on the hot read pool, coalesced with concurrent ones) and serialise with the same
options. It sits inside the request-id/metrics middleware, so the response carries
``X-Request-ID`` and is counted under the route's template. An unreachable database is a 503.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import orjson
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vncomply.auth.deps import PRINCIPAL_SCOPE, key_rate, route_roles
from vncomply.auth.gate import bearer_token
from vncomply.auth.service import authenticate
from vncomply.identities import permissions
from vncomply.identities.validation import ACCOUNT_ID
from vncomply.kit.metrics import PERMISSION_FAST_PATH
from vncomply.kit.principal import Role
from vncomply.kit.problems import database_unavailable, unavailable_response

TEMPLATE = "/v1/accounts/{account_id}/permissions"
_PATH = re.compile(r"/v1/accounts/([^/]+)/permissions")
_SERVED = PERMISSION_FAST_PATH.labels("served")
_HANDED_ON = PERMISSION_FAST_PATH.labels("handed_on")
_JSON = (b"content-type", b"application/json")


@dataclass(frozen=True, slots=True)
class _Route:
    """What the metrics middleware reads from ``scope["route"]``: the template, not the path."""

    path: str = TEMPLATE


_ROUTE = _Route()


def _the_route(routes: Iterable[BaseRoute]) -> APIRoute:
    for route in routes:
        if isinstance(route, APIRoute) and route.path == TEMPLATE and "GET" in (route.methods or ()):
            return route
    raise RuntimeError(f"the fast path stands in front of GET {TEMPLATE}, which is not routed")


class PermissionFastPath:
    def __init__(self, app: ASGIApp, routes: Iterable[BaseRoute]) -> None:
        self.app = app
        roles = route_roles(_the_route(routes))
        if roles is None:
            raise RuntimeError(f"GET {TEMPLATE} has no authorization rule")
        # The route's own `require(...)`: the fast path admits exactly whom the route admits.
        self.allowed_roles: frozenset[Role] = roles

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            match = _PATH.fullmatch(scope["path"])
            if match is not None:
                if await self._serve(scope, send, match.group(1)):
                    return
                _HANDED_ON.inc()
        await self.app(scope, receive, send)

    async def _serve(self, scope: Scope, send: Send, account_id: str) -> bool:
        raw = bearer_token(scope["headers"])
        if raw is None or ACCOUNT_ID.fullmatch(account_id) is None:
            return False
        try:
            return await self._answer(scope, send, raw, account_id)
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            await unavailable_response(scope["path"])(scope, _no_body, send)
            return True

    async def _answer(self, scope: Scope, send: Send, raw: str, account_id: str) -> bool:
        principal = await authenticate(raw)
        if principal is None or principal.role not in self.allowed_roles or principal.platform_id is None:
            scope[PRINCIPAL_SCOPE] = principal  # handed on: nobody looks the key up again
            return False
        decision = await key_rate(principal)
        if decision is not None and not decision.allowed:
            scope[PRINCIPAL_SCOPE] = principal
            return False
        scope["route"] = _ROUTE
        headers: list[tuple[bytes, bytes]] = [_JSON]
        if decision is not None:
            headers += [(k.lower().encode(), v.encode()) for k, v in decision.headers().items()]
        result = await permissions.check_account(principal.platform_id, account_id)
        body = orjson.dumps(result, option=orjson.OPT_UTC_Z)
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        _SERVED.inc()
        return True


async def _no_body() -> Message:
    return {"type": "http.disconnect"}
