"""``Idempotency-Key`` for creating POSTs, by declaration: decorate the endpoint with
``@idempotent`` and build the router with ``route_class=IdempotentRoute``.

Flow: claim (key id, Idempotency-Key) in its own short transaction; run the endpoint; store the
response *in the endpoint's own transaction*, so the stored reply commits iff the change does.
A failed request releases the claim, so the client may retry. A claim older than
``STALE_SECONDS`` is treated as abandoned (its request died before committing).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any, TypeVar

from fastapi import Request
from fastapi.routing import APIRoute
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from starlette.responses import Response

from vncomply import clock
from vncomply.auth.service import authenticate
from vncomply.config import get_settings
from vncomply.db import session_scope
from vncomply.errors import Conflict, InvalidInput
from vncomply.idempotency.models import IdempotencyRecord

F = TypeVar("F", bound=Callable[..., Any])
HEADER = "Idempotency-Key"
STALE_SECONDS = 60
_KEY_OK = re.compile(r"^[\x21-\x7e]{1,200}$")


def idempotent(func: F) -> F:
    func.__idempotent__ = True  # type: ignore[attr-defined]
    return func


def is_idempotent(route: APIRoute) -> bool:
    return bool(getattr(route.endpoint, "__idempotent__", False))


class IdempotentRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if getattr(endpoint, "__idempotent__", False):
            extra = kwargs.get("openapi_extra") or {}
            extra.setdefault("parameters", []).append(
                {
                    "name": HEADER,
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "maxLength": 200},
                    "description": "Retry-safe creation: the first response is replayed for 24 h "
                    "(`Idempotent-Replayed: true`); the same key with another body is a 422.",
                }
            )
            kwargs["openapi_extra"] = extra
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not getattr(self.endpoint, "__idempotent__", False):
            return handler

        async def wrapped(request: Request) -> Response:
            idem_key = request.headers.get(HEADER)
            if idem_key is None:
                return await handler(request)
            return await _run(request, idem_key, handler)

        return wrapped


async def _key_id(request: Request) -> Any:
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer "):
        return None
    async with session_scope() as session:
        principal = await authenticate(session, auth[7:].strip())
    return principal.key_id if principal else None


async def _run(
    request: Request, idem_key: str, handler: Callable[[Request], Coroutine[Any, Any, Response]]
) -> Response:
    if not _KEY_OK.match(idem_key):
        raise InvalidInput("`Idempotency-Key` must be 1-200 printable ASCII characters",
                           field="Idempotency-Key")
    key_id = await _key_id(request)
    if key_id is None:
        return await handler(request)  # the endpoint's own auth answers 401
    body = await request.body()
    digest = hashlib.sha256(request.method.encode() + b" " + request.url.path.encode() + b"\n" + body).digest()
    now = clock.now()
    ttl = timedelta(seconds=get_settings().idempotency_ttl_seconds)
    async with session_scope() as s:
        await s.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.key_id == key_id,
                IdempotencyRecord.idem_key == idem_key,
                (IdempotencyRecord.created_at < now - ttl)
                | (
                    (IdempotencyRecord.state == "in_progress")
                    & (IdempotencyRecord.created_at < now - timedelta(seconds=STALE_SECONDS))
                ),
            )
        )
        claimed = (
            await s.execute(
                insert(IdempotencyRecord)
                .values(key_id=key_id, idem_key=idem_key, request_hash=digest,
                        state="in_progress", created_at=now)
                .on_conflict_do_nothing()
                .returning(IdempotencyRecord.key_id)
            )
        ).first()
        existing = None
        if claimed is None:
            existing = (
                await s.scalars(
                    select(IdempotencyRecord).where(
                        IdempotencyRecord.key_id == key_id, IdempotencyRecord.idem_key == idem_key
                    )
                )
            ).first()
    if existing is not None:
        if existing.request_hash != digest:
            raise InvalidInput(
                "This Idempotency-Key was used with a different request body; use a new key for a "
                "new request, or resend the original body.",
                field="Idempotency-Key",
            )
        if existing.state != "done":
            raise Conflict("A request with this Idempotency-Key is still being processed; retry "
                           "in a few seconds.")
        return Response(
            existing.body or b"",
            status_code=existing.status_code or 200,
            media_type=existing.content_type,
            headers={"Idempotent-Replayed": "true"},
        )
    try:
        response = await handler(request)
    except BaseException:
        await _release(key_id, idem_key)
        raise
    if 200 <= response.status_code < 300 and isinstance(response.body, bytes):
        session = request.state.db_session
        record = await session.get(IdempotencyRecord, (key_id, idem_key))
        if record is not None:
            record.state = "done"
            record.status_code = response.status_code
            record.body = bytes(response.body)
            record.content_type = response.headers.get("content-type")
    else:
        await _release(key_id, idem_key)
    return response


async def _release(key_id: Any, idem_key: str) -> None:
    async with session_scope() as s:
        await s.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.key_id == key_id,
                IdempotencyRecord.idem_key == idem_key,
                IdempotencyRecord.state == "in_progress",
            )
        )
