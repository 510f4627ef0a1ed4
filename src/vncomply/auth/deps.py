"""Authentication, role checks and rate limits as FastAPI dependencies.

Every route declares who may call it with ``require(...)`` (or is listed as public); the authorization
matrix test, the edge gate (auth/gate.py) and the permission check's fast path all read these
declarations from the route table (``route_roles``), so a route without a rule fails CI and a rule is
written once.

The key itself is looked up once per request, in front of the routes (auth/gate.py, or the fast path
when it hands a request on), and reaches the dependencies through the ASGI scope: a request without a
valid key never gets as far as a route, and so never has its body read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from vncomply.auth.service import authenticate
from vncomply.config import get_settings
from vncomply.kit import ratelimit
from vncomply.kit.errors import Forbidden, RateLimited, Unauthenticated
from vncomply.kit.principal import Principal, Role

# The scope entry holding the request's resolved key: a Principal, or None for "looked up, unknown".
PRINCIPAL_SCOPE = "vncomply.principal"

bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer vnc_…`")

# Built once: the setting holding each role's limit (no string formatting per request).
_RATE_SETTING = {role: f"rate_limit_{role.value}" for role in Role}


def key_rate(principal: Principal) -> Awaitable[ratelimit.Decision | None]:
    """Spend one of the key's requests (its role's rate and burst); None when Redis is unreachable.
    The one rate limit of every keyed request, the permission check's fast path included. (Not a
    coroutine itself: the caller awaits the limiter's, one coroutine per request on the hot path.)"""
    rate, burst = getattr(get_settings(), _RATE_SETTING[principal.role])
    return ratelimit.check(str(principal.key_id), rate, burst)


async def authenticated(
    request: Request,
    response: Response,
    # Declared for the OpenAPI document's security scheme; the key was checked in front of the route.
    _creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if PRINCIPAL_SCOPE in request.scope:
        principal = request.scope[PRINCIPAL_SCOPE]
    elif _creds is not None and _creds.scheme.lower() == "bearer":
        # A route the gate does not know (one included outside the registry): look the key up
        # here, after the body was read, rather than refuse a valid key.
        principal = await authenticate(_creds.credentials)
    else:
        principal = None
    if principal is None:
        raise Unauthenticated()
    assert isinstance(principal, Principal)
    await _rate_limit(principal, response)
    return principal


async def _rate_limit(principal: Principal, response: Response) -> None:
    decision = await key_rate(principal)
    if decision is None:
        return
    headers = decision.headers()
    if not decision.allowed:
        rate, burst = getattr(get_settings(), _RATE_SETTING[principal.role])
        raise RateLimited(
            f"This key may make {rate} requests per second (bursts of {burst}); "
            f"retry after {decision.retry_after} s.",
            headers={**headers, "Retry-After": str(decision.retry_after)},
        )
    response.headers.update(headers)


def require(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting only ``roles``; its ``allowed_roles`` feeds the authorization matrix."""
    allowed = frozenset(roles)

    async def dependency(
        principal: Annotated[Principal, Depends(authenticated)],
    ) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(f"This operation needs a key with role {names}; yours is {principal.role.value}.")
        return principal

    dependency.allowed_roles = allowed  # type: ignore[attr-defined]
    return dependency


def route_roles(route: APIRoute) -> frozenset[Role] | None:
    """The roles a route's ``require(...)`` admits, or None for a route without a rule (public)."""
    stack: list[Any] = [route.dependant]
    while stack:
        dep = stack.pop()
        roles = getattr(dep.call, "allowed_roles", None)
        if roles is not None:
            return frozenset(roles)
        stack.extend(dep.dependencies)
    return None


Admin = Annotated[Principal, Depends(require(Role.admin))]
AnyRole = Annotated[Principal, Depends(require(*Role))]
