"""The one registry: every model module (for Alembic and the metadata) and every router.

Domain packages add themselves here and nowhere else.
"""

from __future__ import annotations

from fastapi import APIRouter

from vncomply.audit import models as _audit_models  # noqa: F401
from vncomply.audit.router import router as audit_router
from vncomply.auth import models as _auth_models  # noqa: F401
from vncomply.auth.router import router as api_keys_router
from vncomply.authorities import models as _authority_models  # noqa: F401
from vncomply.authorities.router import router as authorities_router
from vncomply.db import Base
from vncomply.health.router import router as health_router
from vncomply.idempotency import models as _idem_models  # noqa: F401
from vncomply.platforms import models as _platform_models  # noqa: F401
from vncomply.platforms.router import router as platforms_router
from vncomply.rulebook_router import router as rulebook_router

metadata = Base.metadata

ROUTERS: list[APIRouter] = [
    health_router,
    platforms_router,
    authorities_router,
    api_keys_router,
    audit_router,
    rulebook_router,
]

# Routes that stream large bodies and enforce their own limits.
STREAMING_PATHS: tuple[str, ...] = ("/v1/identities/bulk",)
