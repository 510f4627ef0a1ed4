"""Liveness, readiness and Prometheus metrics. No authentication: probes and scrapers call these."""

from __future__ import annotations

import asyncio
from functools import lru_cache
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.responses import Response

from vncomply.health import heartbeat
from vncomply.kit import clock
from vncomply.kit.db import get_engine
from vncomply.kit.docs import doc
from vncomply.kit.metrics import BEAT_HEARTBEAT_AGE
from vncomply.kit.problems import problem_response
from vncomply.kit.redis import get_redis

router = APIRouter(tags=["health"])
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
ROOT = Path(__file__).resolve().parents[3]


@lru_cache(maxsize=1)
def migration_head() -> str | None:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    return ScriptDirectory.from_config(cfg).get_current_head()


@router.get(
    "/healthz",
    **doc(
        summary="Liveness: the process is up",
        about="Answers without touching PostgreSQL or Redis.",
        next="Restart the process if this fails; use `/readyz` to decide whether to send it traffic.",
        reply={"status": "ok"},
    ),
)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _check_db() -> str | None:
    try:
        async with asyncio.timeout(2):
            async with get_engine().connect() as conn:
                rev = (await conn.execute(text("select version_num from alembic_version"))).scalar()
    except Exception as exc:
        return f"postgresql unreachable ({type(exc).__name__})"
    head = migration_head()
    if rev != head:
        return f"migrations not at head (database at {rev}, code at {head}); run `vncomply migrate`"
    return None


async def _check_redis() -> str | None:
    try:
        async with asyncio.timeout(2):
            await get_redis().ping()
    except Exception as exc:
        return f"redis unreachable ({type(exc).__name__})"
    return None


@router.get(
    "/readyz",
    **doc(
        summary="Readiness: PostgreSQL and Redis reachable, migrations at head",
        next="On 503, fix what `failures` names (e.g. run `vncomply migrate`); keep traffic away meanwhile.",
        errors={503: "a dependency failed; `failures` names each"},
        reply={"status": "ready"},
    ),
)
async def readyz() -> Response:
    db, rds = await asyncio.gather(_check_db(), _check_redis())
    failures = [f for f in (db, rds) if f]
    if failures:
        return problem_response(
            503,
            "Not ready",
            "; ".join(failures),
            slug="not-ready",
            extra={"failures": failures},
        )
    return Response(b'{"status":"ready"}', media_type="application/json")


@router.get(
    "/metrics",
    response_class=Response,
    **doc(
        summary="Prometheus metrics",
        about="Request counts and latency by route, deadline gauges (orders due and overdue), the "
        "beat heartbeat's age, in the Prometheus text format.",
        next="Alert on `vncomply_beat_heartbeat_age_seconds` (the clocks stop when beat does) and on "
        "overdue orders.",
        also={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    ),
)
async def metrics() -> Response:
    last = await heartbeat.last_beat()
    BEAT_HEARTBEAT_AGE.set(-1 if last is None else max(0.0, clock.now().timestamp() - last))
    # In a thread: the deadline collectors query PostgreSQL synchronously (docs/deadlines.md), and
    # on the event loop a scrape would stall every request in flight, permission checks included.
    body = await asyncio.to_thread(generate_latest)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
