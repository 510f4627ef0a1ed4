"""``Idempotency-Key`` for creating POSTs, by declaration: decorate the endpoint with
``@idempotent`` and build the router with ``route_class=IdempotentRoute``.

The claim is a row inserted *in the request's own transaction* (a dependency the route class adds),
and the response is stored in that same transaction after the endpoint returns. So the stored reply
commits iff the change does, and a failed request leaves nothing behind: the client may retry.
A duplicate arriving while the first is still running waits at most ``LOCK_TIMEOUT_MS`` on the
unique index and gets 409; after the first committed, it gets the stored reply.

A reply may carry a one-time secret (a new API key, a webhook signing secret). The route declares
those fields, ``@idempotent(secrets=("key",))``, and the stored copy is written without them: a
replay answers the same resource with each secret field ``null`` and ``"secret_shown": false``
(the secret was shown once, to the first reply, and is kept nowhere). Records are purged after
``VNCOMPLY_IDEMPOTENCY_TTL_SECONDS`` by a beat task (``idempotency/tasks.py``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, overload

import orjson
from fastapi import Depends, Request
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute
from sqlalchemy import bindparam, delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from starlette.responses import Response

from vncomply.auth.deps import authenticated
from vncomply.idempotency import service
from vncomply.idempotency.models import IdempotencyRecord
from vncomply.kit import clock
from vncomply.kit.db import SessionDep, compiled_once, undo_if_after_commit_fails
from vncomply.kit.errors import Conflict, DomainError, InvalidInput
from vncomply.kit.principal import Principal

F = TypeVar("F", bound=Callable[..., Any])
HEADER = "Idempotency-Key"
LOCK_TIMEOUT_MS = 200
_KEY_OK = re.compile(r"^[\x21-\x7e]{1,200}$")
# The claim: a row if this request is the first with its key (kit.db.compiled_once: ON CONFLICT).
_CLAIM = compiled_once(
    insert(IdempotencyRecord)
    .values(
        key_id=bindparam("key_id"),
        idem_key=bindparam("idem_key"),
        request_hash=bindparam("request_hash"),
        state="in_progress",
        created_at=bindparam("now"),
    )
    .on_conflict_do_nothing()
    .returning(IdempotencyRecord.key_id)
)


SECRET_SHOWN = "secret_shown"  # noqa: S105 - a field name, not a secret


@dataclass(frozen=True, slots=True)
class Spec:
    """What ``@idempotent`` declares about a route: the reply's one-time secret fields."""

    secrets: tuple[str, ...] = ()


@overload
def idempotent(func: F) -> F: ...
@overload
def idempotent(*, secrets: tuple[str, ...] = ()) -> Callable[[F], F]: ...
def idempotent(func: F | None = None, *, secrets: tuple[str, ...] = ()) -> F | Callable[[F], F]:
    """Mark a creating POST as idempotent; ``secrets`` names the top-level reply fields that are
    one-time secrets (never stored, ``null`` in a replay)."""

    def mark(f: F) -> F:
        f.__idempotent__ = Spec(tuple(secrets))  # type: ignore[attr-defined]
        return f

    return mark(func) if func is not None else mark


def _spec(endpoint: Callable[..., Any]) -> Spec | None:
    spec = getattr(endpoint, "__idempotent__", None)
    return spec if isinstance(spec, Spec) else None


def stored_body(body: bytes, spec: Spec) -> bytes:
    """The reply as it is kept for replays: every declared secret field withheld."""
    if not spec.secrets:
        return body
    data = orjson.loads(body)
    if not isinstance(data, dict):
        raise TypeError("a route that declares one-time secrets must answer a JSON object")
    for name in spec.secrets:
        if name in data:
            data[name] = None
    data[SECRET_SHOWN] = False
    return orjson.dumps(data)


class _Replay(Exception):
    def __init__(self, record: IdempotencyRecord) -> None:
        self.record = record


async def claim(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, Depends(authenticated)],
) -> None:
    idem_key = request.headers.get(HEADER)
    if idem_key is None:
        return
    if not _KEY_OK.match(idem_key):
        raise InvalidInput("`Idempotency-Key` must be 1-200 printable ASCII characters", field=HEADER)
    body = await request.body()
    digest = hashlib.sha256(f"{request.method} {request.url.path}\n".encode() + body).digest()
    now = clock.now()
    ttl = service.ttl()
    ident = (IdempotencyRecord.key_id == principal.key_id) & (IdempotencyRecord.idem_key == idem_key)
    try:
        async with session.begin_nested():
            await session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'"))
            await session.execute(
                delete(IdempotencyRecord).where(ident, IdempotencyRecord.created_at < now - ttl)
            )
            claimed = (
                await session.execute(
                    _CLAIM,
                    {"key_id": principal.key_id, "idem_key": idem_key, "request_hash": digest, "now": now},
                )
            ).first()
            await session.execute(text("SET LOCAL lock_timeout = 0"))
    except DBAPIError as exc:
        if "lock timeout" not in str(exc.orig):
            raise
        raise Conflict(
            "A request with this Idempotency-Key is still being processed; retry in a few seconds."
        ) from exc
    if claimed is not None:
        request.state.idempotency = (principal.key_id, idem_key)
        # The reply is stored with the change; should a step after the commit fail (an SMS not
        # accepted), the client gets that error, so a retry must run again, not replay a success.
        undo_if_after_commit_fails(session, lambda s: s.execute(delete(IdempotencyRecord).where(ident)))
        return
    existing = (await session.scalars(select(IdempotencyRecord).where(ident))).one()
    if existing.request_hash != digest:
        raise InvalidInput(
            "This Idempotency-Key was used with a different request body; use a new key for a new "
            "request, or resend the original body.",
            field=HEADER,
        )
    if existing.state != "done":  # pragma: no cover - only visible across connections mid-flight
        raise Conflict("A request with this Idempotency-Key is still being processed.")
    raise _Replay(existing)


class IdempotentRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        spec = _spec(endpoint)
        if spec is not None:
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
            deps: list[DependsParam] = list(kwargs.get("dependencies") or [])
            kwargs["dependencies"] = [*deps, Depends(claim)]
        super().__init__(path, endpoint, **kwargs)
        if spec is not None and spec.secrets:
            _check_secrets(path, spec, self.response_model)
            fields = ", ".join(f"`{n}`" for n in spec.secrets)
            self.description = (
                f"{self.description}\n\n{fields}: shown once. An idempotent replay "
                f"(`Idempotent-Replayed: true`) answers the same resource with {fields} set to null "
                f'and `"{SECRET_SHOWN}": false`: the secret is not kept anywhere.'
            ).strip()

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        spec = _spec(self.endpoint)
        if spec is None:
            return handler

        async def wrapped(request: Request) -> Response:
            try:
                response = await handler(request)
            except DomainError as exc:
                ident = getattr(request.state, "idempotency", None)
                if exc.commits and ident is not None:
                    # The error's side effects commit (kit.errors); the claim must not, or every
                    # retry would wait on a request that is over. Nothing was created: a retry runs.
                    key_id, idem_key = ident
                    await request.state.db_session.execute(
                        delete(IdempotencyRecord).where(
                            IdempotencyRecord.key_id == key_id, IdempotencyRecord.idem_key == idem_key
                        )
                    )
                raise
            except _Replay as replay:
                rec = replay.record
                return Response(
                    rec.body or b"",
                    status_code=rec.status_code or 200,
                    media_type=rec.content_type,
                    headers={"Idempotent-Replayed": "true"},
                )
            ident = getattr(request.state, "idempotency", None)
            if ident is None:
                return response
            # Same transaction as the endpoint's change: committed together or not at all.
            session = request.state.db_session
            record = await session.get(IdempotencyRecord, ident)
            if 200 <= response.status_code < 300:
                record.state = "done"
                record.status_code = response.status_code
                record.body = stored_body(bytes(response.body), spec)
                record.content_type = response.headers.get("content-type")
            else:
                # An error *returned* (not raised) still commits: release the key, or every retry
                # would meet an "in progress" claim until the TTL.
                await session.delete(record)
            return response

        return wrapped


def _check_secrets(path: str, spec: Spec, model: Any) -> None:
    """A declared secret the reply model does not have is a typo that would store the secret."""
    fields = getattr(model, "model_fields", None)
    if fields is None:
        raise TypeError(f"{path}: declaring one-time secrets needs a pydantic response model")
    missing = [n for n in spec.secrets if n not in fields]
    if missing:
        raise TypeError(f"{path}: one-time secret field(s) {missing} are not in {model.__name__}")
