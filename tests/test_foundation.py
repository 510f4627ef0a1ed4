"""The skeleton every domain builds on: problem+json for each error class, request ids, readiness,
metrics, commit-before-response and the migration drift check. Real PostgreSQL and Redis."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from tests.factories import admin_key, auth
from vncomply.app import create_app
from vncomply.audit import service as audit
from vncomply.auth.deps import AnyRole
from vncomply.idempotency.route import IdempotentRoute, idempotent
from vncomply.kit.db import SessionDep
from vncomply.kit.errors import Conflict

PROBLEM = "application/problem+json"


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def _problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM), r.headers
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert body["type"]
    assert body["title"]
    assert body["detail"]
    return body


# --------------------------------------------------------------------------------------------
# problem+json


async def test_422_lists_each_bad_field_and_why(client, db) -> None:
    key = await admin_key(db)
    r = await client.post(
        "/v1/platforms",
        headers=auth(key),
        json={
            "name": "X",
            "legal_name": "X Inc.",
            "contact_point": {"name": "A", "email": "not-an-email", "phone": "+8424000000", "address": "HN"},
            "monthly_vn_visits": -5,
            "surprise": True,
        },
    )
    body = _problem(r, 422)
    fields = {e["field"]: e for e in body["errors"]}
    assert {"body.contact_point.email", "body.monthly_vn_visits", "body.surprise"} <= set(fields)
    assert all(e["message"] for e in body["errors"])
    assert "body.monthly_vn_visits" in body["detail"]


async def test_404_unknown_route(client) -> None:
    body = _problem(await client.get("/v1/no-such-thing"), 404)
    assert body["instance"] == "/v1/no-such-thing"
    assert body["type"].endswith("/not-found")


async def test_405_wrong_method_names_allowed_methods(client) -> None:
    r = await client.delete("/healthz")
    body = _problem(r, 405)
    assert r.headers["allow"] == "GET"
    assert "GET" in body["detail"]


@pytest.fixture
async def echo_app(db) -> FastAPI:
    """A fresh app with test-only routes (never in src)."""
    app = create_app()

    @app.post("/_test/echo")
    async def echo(body: dict[str, Any]) -> dict[str, int]:
        return {"keys": len(body)}

    @app.get("/_test/boom")
    async def boom() -> None:
        raise RuntimeError("secret +84912345678 in a stack trace")

    return app


async def test_413_oversized_body_with_content_length(echo_app) -> None:
    limit = 1_048_576
    async with _client(echo_app) as c:
        r = await c.post(
            "/_test/echo", content=b"{" + b" " * limit + b"}", headers={"content-type": "application/json"}
        )
    body = _problem(r, 413)
    assert str(limit) in body["detail"]


async def test_413_oversized_chunked_body_without_content_length(echo_app) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"a": "'
        for _ in range(40):
            yield b"x" * 32_768
        yield b'"}'

    async with _client(echo_app) as c:
        r = await c.post("/_test/echo", content=chunks(), headers={"content-type": "application/json"})
    assert r.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in r.request.headers
    _problem(r, 413)


async def test_small_body_passes_the_limit(echo_app) -> None:
    async with _client(echo_app) as c:
        r = await c.post("/_test/echo", json={"a": 1, "b": 2})
    assert r.status_code == 200
    assert r.json() == {"keys": 2}


async def test_500_has_request_id_and_no_stack_trace(echo_app) -> None:
    async with _client(echo_app) as c:
        r = await c.get("/_test/boom", headers={"X-Request-ID": "req-500-check"})
    body = _problem(r, 500)
    assert body["request_id"] == "req-500-check"
    assert r.headers["x-request-id"] == "req-500-check"
    assert "secret" not in r.text
    assert "84912345678" not in r.text
    assert "Traceback" not in r.text
    assert "RuntimeError" not in r.text


async def test_request_id_echoed_or_generated(client) -> None:
    r = await client.get("/healthz", headers={"X-Request-ID": "abc-123.x:y"})
    assert r.headers["x-request-id"] == "abc-123.x:y"
    r = await client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])
    # An unsafe value (spaces, too long, header injection) is replaced, not echoed.
    r = await client.get("/healthz", headers={"X-Request-ID": "bad id <script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])
    r = await client.get("/v1/no-such-thing", headers={"X-Request-ID": "rid-404"})
    assert r.headers["x-request-id"] == "rid-404"
    assert r.json()["request_id"] == "rid-404"


# --------------------------------------------------------------------------------------------
# health, readiness, metrics


async def test_healthz_and_readyz_ok(client) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ready"}


async def test_readyz_503_when_redis_is_unreachable(client) -> None:
    from vncomply.config import reset_settings
    from vncomply.kit.redis import close_redis

    saved = os.environ["VNCOMPLY_REDIS_URL"]
    os.environ["VNCOMPLY_REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    reset_settings()
    await close_redis()
    try:
        r = await client.get("/readyz")
        body = _problem(r, 503)
        assert any("redis" in f for f in body["failures"]), body
        assert not any("postgresql" in f for f in body["failures"]), body
    finally:
        os.environ["VNCOMPLY_REDIS_URL"] = saved
        reset_settings()
        await close_redis()
    assert (await client.get("/readyz")).status_code == 200


async def test_metrics_use_route_templates_and_expose_beat_age(client, db) -> None:
    key = await admin_key(db)
    missing = uuid.uuid4()
    r = await client.get(f"/v1/platforms/{missing}", headers=auth(key))
    assert r.status_code == 404
    r = await client.get("/metrics")
    assert r.status_code == 200
    metrics = r.text
    assert 'route="/v1/platforms/{platform_id}",status="404"' in metrics
    assert str(missing) not in metrics  # raw paths would explode the label cardinality
    assert "vncomply_http_request_seconds_bucket" in metrics
    assert re.search(r"^vncomply_beat_heartbeat_age_seconds -?[0-9.e+]+$", metrics, re.M)


async def test_beat_heartbeat_age_follows_the_stamp(client) -> None:
    from vncomply.health import heartbeat
    from vncomply.kit import clock

    await heartbeat.record_beat(clock.now().timestamp() - 30)
    r = await client.get("/metrics")
    age = float(re.search(r"^vncomply_beat_heartbeat_age_seconds (\S+)$", r.text, re.M)[1])  # type: ignore[index]
    assert 29 <= age < 60


async def test_a_slow_scrape_does_not_stall_other_requests(client) -> None:
    """Collectors that query the database run in a thread, not on the event loop: a request made
    while a slow collector is busy is answered before the scrape finishes."""
    import asyncio
    import threading
    import time as _time

    from prometheus_client import REGISTRY
    from prometheus_client.registry import Collector

    started = threading.Event()

    class Slow(Collector):
        def describe(self):  # type: ignore[no-untyped-def]
            return []  # else register() would call collect() to learn the names

        def collect(self):  # type: ignore[no-untyped-def]
            started.set()
            _time.sleep(0.5)  # like a synchronous query
            return iter(())

    slow = Slow()
    REGISTRY.register(slow)
    try:
        scrape = asyncio.ensure_future(client.get("/metrics"))
        while not started.is_set():
            await asyncio.sleep(0.005)
        assert (await client.get("/healthz")).status_code == 200
        assert not scrape.done()
        assert (await scrape).status_code == 200
    finally:
        REGISTRY.unregister(slow)


# --------------------------------------------------------------------------------------------
# commit before response


@pytest.fixture
async def real_commits(committed) -> AsyncIterator[Any]:
    """`committed`, plus closing the Redis client the app opened on this test's event loop (the
    `committed` fixture does not, and the next test's teardown would trip over it)."""
    from vncomply.kit.redis import close_redis

    yield committed
    await close_redis()


def _commit_app(fail: bool) -> FastAPI:
    app = create_app()

    @app.post("/_test/write")
    async def write(session: SessionDep) -> dict[str, str]:
        # A deferred foreign key is only checked at COMMIT: the endpoint itself succeeds, so only
        # a commit that runs before the response is sent can turn this into an error.
        await session.execute(text("CREATE TEMP TABLE t_parent (id int PRIMARY KEY) ON COMMIT DROP"))
        await session.execute(
            text(
                "CREATE TEMP TABLE t_child (pid int REFERENCES t_parent DEFERRABLE INITIALLY DEFERRED)"
                " ON COMMIT DROP"
            )
        )
        if not fail:
            await session.execute(text("INSERT INTO t_parent VALUES (1)"))
        await session.execute(text("INSERT INTO t_child VALUES (1)"))
        return {"status": "written"}

    return app


async def test_failed_commit_answers_500_never_200(real_commits) -> None:
    async with _client(_commit_app(fail=True)) as c:
        r = await c.post("/_test/write")
    body = _problem(r, 500)
    assert "written" not in r.text
    assert body["request_id"] == r.headers["x-request-id"]


async def test_successful_commit_answers_200(real_commits) -> None:
    async with _client(_commit_app(fail=False)) as c:
        r = await c.post("/_test/write")
    assert r.status_code == 200
    assert r.json() == {"status": "written"}


async def test_commit_error_on_a_real_route_is_500(real_commits, monkeypatch) -> None:
    """The same through a real router: the platform is built, then COMMIT fails."""
    from vncomply.auth import service as auth_service
    from vncomply.kit.principal import Role

    maker = real_commits
    async with maker() as s:
        _, key = await auth_service.create_key(s, None, role=Role.admin, name="t")
        await s.commit()

    async def failing_commit(self: AsyncSession) -> None:
        raise RuntimeError("commit failed")

    monkeypatch.setattr(AsyncSession, "commit", failing_commit)
    async with _client(create_app()) as c:
        r = await c.post(
            "/v1/platforms",
            headers=auth(key),
            json={
                "name": "Y",
                "legal_name": "Y Inc.",
                "contact_point": {
                    "name": "A",
                    "email": "a@example.com",
                    "phone": "+8424000000",
                    "address": "HN",
                },
                "monthly_vn_visits": 200000,
            },
        )
    _problem(r, 500)
    monkeypatch.undo()
    async with maker() as s:
        assert (await s.execute(text("select count(*) from platforms"))).scalar_one() == 0


def _refusing_app() -> FastAPI:
    """A route whose refusal leaves a trace (an audit record) and then raises: marked as committing
    or not, idempotent (so the claim's fate shows too)."""
    app = create_app()
    router = APIRouter(route_class=IdempotentRoute)

    @router.post("/_test/refuse/{mode}", status_code=201)
    @idempotent
    async def refuse(mode: str, session: SessionDep, actor: AnyRole) -> dict[str, str]:
        audit.record(session, actor, "test.refused", "test", mode, None, {"mode": mode})
        error = Conflict(f"refused ({mode})")
        raise error.committing() if mode == "keep" else error

    app.include_router(router)
    return app


async def test_a_committing_error_keeps_its_side_effects_and_answers_its_problem(real_commits) -> None:
    """kit.errors: an error marked as committing is answered as its problem after the request's
    writes commit; an unmarked one rolls them back. The idempotency claim is never kept for it:
    a retry with the same key runs again instead of waiting on a request that is over."""
    from vncomply.auth import service as auth_service
    from vncomply.kit.principal import Role

    maker = real_commits
    async with maker() as s:
        _, key = await auth_service.create_key(s, None, role=Role.admin, name="t")
        await s.commit()
    headers = {**auth(key), "Idempotency-Key": "k-1"}
    async with _client(_refusing_app()) as c:
        kept = await c.post("/_test/refuse/keep", headers=headers)
        again = await c.post("/_test/refuse/keep", headers=headers)
        dropped = await c.post("/_test/refuse/drop", headers={**auth(key), "Idempotency-Key": "k-2"})
    for r, mode in ((kept, "keep"), (again, "keep"), (dropped, "drop")):
        body = _problem(r, 409)
        assert body["detail"] == f"refused ({mode})"
        assert body["instance"] == f"/_test/refuse/{mode}"
    async with maker() as s:
        modes = (
            await s.execute(text("SELECT resource_id FROM audit_events WHERE action = 'test.refused'"))
        ).scalars()
        assert sorted(modes) == ["keep", "keep"]
        claims = await s.execute(text("SELECT count(*) FROM idempotency_records"))
        assert claims.scalar_one() == 0


# --------------------------------------------------------------------------------------------
# migrations


async def test_migrations_match_the_models(test_database) -> None:
    """Autogenerate against the migrated database finds nothing: models and migrations agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from vncomply.registry import metadata as load_metadata

    metadata = load_metadata()

    engine = create_async_engine(test_database)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), metadata
                )
            )
    finally:
        await engine.dispose()
    assert diff == [], "models and migrations differ; add a migration:\n" + "\n".join(map(str, diff))


async def test_database_is_at_the_code_head(db) -> None:
    from vncomply.health.router import migration_head

    rev = (await db.execute(text("select version_num from alembic_version"))).scalar_one()
    assert rev == migration_head()
