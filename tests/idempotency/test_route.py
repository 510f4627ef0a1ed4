"""`Idempotency-Key` on creating POSTs: replay, a different body under the same key, expiry,
failures releasing the key, a duplicate racing the first request."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import APIRouter
from starlette.responses import Response

from tests.factories import admin_key, auth
from vncomply.app import create_app
from vncomply.auth.deps import Admin
from vncomply.idempotency.models import IdempotencyRecord
from vncomply.idempotency.route import IdempotentRoute, idempotent
from vncomply.kit import clock
from vncomply.kit.db import SessionDep

BODY = {"code": "DIC-HANOI", "name": "Hanoi DIC", "kind": "provincial", "platforms": "all"}


async def test_idempotent_replay_conflict_and_in_flight(client, db) -> None:
    admin = await admin_key(db)
    h = {**auth(admin), "Idempotency-Key": "create-dic-1"}
    first = await client.post("/v1/authorities", headers=h, json=BODY)
    assert first.status_code == 201
    again = await client.post("/v1/authorities", headers=h, json=BODY)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()

    other = await client.post("/v1/authorities", headers=h, json={**BODY, "name": "changed"})
    assert other.status_code == 422
    assert "different request body" in other.json()["detail"]

    # Replays expire after 24 h: the key may then be reused (here: conflict on the unique code).
    clock.advance(timedelta(hours=25))
    r = await client.post("/v1/authorities", headers=h, json=BODY)
    assert r.status_code == 409
    assert "already exists" in r.json()["detail"]


async def test_failed_request_releases_its_idempotency_key(client, db) -> None:
    admin = await admin_key(db)
    h = {**auth(admin), "Idempotency-Key": "k-2"}
    bad = await client.post(
        "/v1/authorities", headers=h, json={**BODY, "platforms": ["00000000-0000-0000-0000-000000000001"]}
    )
    assert bad.status_code == 422
    ok = await client.post(
        "/v1/authorities", headers=h, json={**BODY, "platforms": ["00000000-0000-0000-0000-000000000001"]}
    )
    assert ok.status_code == 422  # re-evaluated, not replayed
    assert "idempotent-replayed" not in ok.headers


async def test_concurrent_duplicate_gets_409(committed) -> None:
    """Real connections: the first request's claim is uncommitted when the duplicate arrives."""
    import hashlib

    import httpx

    from vncomply.app import create_app
    from vncomply.auth import service as auth_service
    from vncomply.kit.principal import Role

    async with committed() as s:
        key, raw = await auth_service.create_key(s, None, role=Role.admin, name="t")
        await s.commit()
    body = b'{"code":"X1","name":"x","kind":"ministry"}'
    digest = hashlib.sha256(b"POST /v1/authorities\n" + body).digest()
    app = create_app()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with committed() as first, httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        first.add(
            IdempotencyRecord(
                key_id=key.id,
                idem_key="dup",
                request_hash=digest,
                state="in_progress",
                created_at=clock.now(),
            )
        )
        await first.flush()  # holds the row lock, like a request still running
        r = await c.post(
            "/v1/authorities",
            content=body,
            headers={**auth(raw), "Idempotency-Key": "dup", "Content-Type": "application/json"},
        )
        assert r.status_code == 409, r.text
        await first.rollback()
        r = await c.post(
            "/v1/authorities",
            content=body,
            headers={**auth(raw), "Idempotency-Key": "dup", "Content-Type": "application/json"},
        )
        assert r.status_code == 201


# A route of our own (module level: FastAPI resolves the annotations by name).
_router = APIRouter(route_class=IdempotentRoute)
_calls: list[int] = []


@_router.post("/test-returned-error")
@idempotent
async def _returns_an_error_first(session: SessionDep, actor: Admin) -> Response:
    _calls.append(1)
    return Response(status_code=422 if len(_calls) == 1 else 201)


async def test_an_error_returned_not_raised_releases_the_key(db) -> None:
    """An endpoint may *return* an error response (its transaction then commits, e.g. to keep a
    spent OTP attempt): the key must be released, or every retry would meet "in progress"."""
    app = create_app()
    app.include_router(_router)
    admin = await admin_key(db)
    h = {**auth(admin), "Idempotency-Key": "returned-422"}
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        assert (await c.post("/test-returned-error", headers=h)).status_code == 422
        again = await c.post("/test-returned-error", headers=h)
    assert again.status_code == 201, again.text  # ran again, not "still being processed"
    assert len(_calls) == 2
