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
from vncomply.blocks import models as _block_models  # noqa: F401
from vncomply.blocks.router import router as blocks_router
from vncomply.db import Base
from vncomply.deadlines import models as _deadline_models  # noqa: F401
from vncomply.disclosures import models as _disclosure_models  # noqa: F401
from vncomply.disclosures.router import router as disclosures_router
from vncomply.events import models as _event_models  # noqa: F401
from vncomply.events.router import router as events_router
from vncomply.health.router import router as health_router
from vncomply.idempotency import models as _idem_models  # noqa: F401
from vncomply.identities import models as _identity_models  # noqa: F401
from vncomply.identities.router import router as identities_router
from vncomply.platforms import models as _platform_models  # noqa: F401
from vncomply.platforms.router import router as platforms_router
from vncomply.rulebook_router import router as rulebook_router
from vncomply.takedowns import models as _takedown_models  # noqa: F401
from vncomply.takedowns.router import router as takedowns_router

metadata = Base.metadata

ROUTERS: list[APIRouter] = [
    health_router,
    platforms_router,
    authorities_router,
    api_keys_router,
    audit_router,
    rulebook_router,
    identities_router,
    events_router,
    takedowns_router,
    blocks_router,
    disclosures_router,
]

# Routes that stream large bodies and enforce their own limits.
STREAMING_PATHS: tuple[str, ...] = ("/v1/identities/bulk",)
