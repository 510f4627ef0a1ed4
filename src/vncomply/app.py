"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from vncomply import __version__
from vncomply.config import get_settings
from vncomply.db import dispose_engine
from vncomply.logs import configure_logging
from vncomply.middleware import RequestContextMiddleware
from vncomply.problems import install_problem_handlers
from vncomply.redis_client import close_redis
from vncomply.registry import ROUTERS, STREAMING_PATHS

DESCRIPTION = """
**vncomply** keeps foreign social platforms operating in Vietnam compliant with Decree 147/2024 and
the Cybersecurity Law: verified identities (encrypted), the per-post permission check, the
authorities' takedown, block and disclosure orders, and every statutory clock.

Authenticate with `Authorization: Bearer vnc_…`. Errors are RFC 9457 `application/problem+json`.
Creating POSTs accept `Idempotency-Key`. Lists use cursor pagination (`limit`, `cursor` →
`next_cursor`). All times are UTC (ISO 8601).
"""

TAGS = [
    {
        "name": "platforms",
        "description": "Tenants (admin): scope status and the Form No. 10 clock.",
    },
    {"name": "authorities", "description": "Registered authorities and whom they may address."},
    {"name": "api-keys", "description": "Scoped API keys (admin)."},
    {"name": "identities", "description": "Verified identities (PII encrypted, responses masked)."},
    {"name": "permissions", "description": "The hot path: may this account act?"},
    {"name": "takedowns", "description": "Takedown orders and their deadlines."},
    {"name": "blocks", "description": "Violations, lock rules and account blocks."},
    {"name": "disclosures", "description": "Identity disclosure requests and officer review."},
    {"name": "events", "description": "Events, webhooks and the pull feed."},
    {"name": "audit", "description": "Tamper-evident audit trail."},
    {"name": "rulebook", "description": "The legal rules in force and upcoming."},
    {"name": "operations", "description": "Health, readiness and metrics."},
]


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield
    await close_redis()
    await dispose_engine()


def create_app() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    app = FastAPI(
        title="vncomply",
        description=DESCRIPTION,
        version=__version__,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        streaming_paths=STREAMING_PATHS,
    )
    return app
