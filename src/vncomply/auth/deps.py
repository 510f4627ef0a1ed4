"""Authentication, role checks and rate limits as FastAPI dependencies.

Every route declares who may call it with ``require(...)`` (or is listed as public); the authorization
matrix test reads these declarations from the route table, so a route without a rule fails CI.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from vncomply.auth import service
from vncomply.config import get_settings
from vncomply.kit import ratelimit
from vncomply.kit.errors import Forbidden, RateLimited, Unauthenticated
from vncomply.kit.principal import Principal, Role

bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer vnc_…`")


async def authenticated(
    response: Response,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if creds is None or creds.scheme.lower() != "bearer":
        raise Unauthenticated()
    principal = await service.authenticate(creds.credentials)
    if principal is None:
        raise Unauthenticated()
    await _rate_limit(principal, response)
    return principal


async def _rate_limit(principal: Principal, response: Response) -> None:
    rate, burst = getattr(get_settings(), f"rate_limit_{principal.role.value}")
    decision = await ratelimit.check(str(principal.key_id), rate, burst)
    if decision is None:
        return
    headers = decision.headers()
    if not decision.allowed:
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


Admin = Annotated[Principal, Depends(require(Role.admin))]
AnyRole = Annotated[Principal, Depends(require(*Role))]
