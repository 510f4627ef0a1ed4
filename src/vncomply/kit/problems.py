"""RFC 9457 problem+json rendering for every error the API can produce."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import orjson
import psycopg
import psycopg.errors
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from psycopg_pool import PoolTimeout
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from vncomply.kit.errors import PROBLEM_BASE, DomainError
from vncomply.kit.logs import get_logger, safe_traceback

PROBLEM_JSON = "application/problem+json"
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
log = get_logger("vncomply.kit.errors")


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str | None = None,
    type_uri: str | None = None,
    instance: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": type_uri or (PROBLEM_BASE + slug if slug else "about:blank"),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    rid = request_id_var.get()
    if rid:
        body["request_id"] = rid
    if extra:
        body.update(extra)
    return Response(
        orjson.dumps(body, default=str),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        msg = str(err.get("msg", "invalid"))
        # pydantic prefixes messages raised from our validators with "Value error, ".
        msg = msg.removeprefix("Value error, ")
        errors.append({"field": _loc(err.get("loc", ())), "message": msg, "code": err.get("type")})
    return errors


def domain_problem(exc: DomainError, instance: str) -> Response:
    """The problem response for a typed error, rendered by the handler for every raised one. An
    error whose side effects must be kept is raised all the same, marked as committing (see
    ``vncomply.kit.errors``): the session dependency commits before the handler renders it."""
    return problem_response(
        exc.status,
        exc.title,
        exc.detail,
        type_uri=exc.type_uri,
        instance=instance,
        extra=exc.extra,
        headers=exc.headers,
    )


async def _domain(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return domain_problem(exc, request.url.path)


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(exc)
    fields = ", ".join(e["field"] or "(body)" for e in errors[:10])
    return problem_response(
        422,
        "Your request is not valid",
        f"{len(errors)} field(s) are invalid: {fields}. See `errors` for what to send instead.",
        slug="validation-error",
        instance=request.url.path,
        extra={"errors": errors},
    )


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        return problem_response(
            404,
            "Not found",
            f"No resource at {request.method} {request.url.path}; the API is described at /docs.",
            slug="not-found",
            instance=request.url.path,
            headers=headers,
        )
    if exc.status_code == 405:
        allow = headers.get("Allow", "")
        return problem_response(
            405,
            "Method not allowed",
            f"{request.method} is not allowed on {request.url.path}; use one of: {allow}.",
            slug="method-not-allowed",
            instance=request.url.path,
            headers=headers,
        )
    detail = exc.detail if isinstance(exc.detail, str) else "Request could not be handled."
    return problem_response(
        exc.status_code,
        detail,
        detail,
        slug="http-error",
        instance=request.url.path,
        headers=headers,
    )


def _driver_error(exc: BaseException) -> BaseException:
    """The psycopg error under SQLAlchemy's wrapper, or ``exc`` itself."""
    return exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc


def database_unavailable(exc: BaseException) -> bool:
    """The database could not be reached (or gave up on us): a retry later may well succeed."""
    cause = _driver_error(exc)
    return isinstance(cause, psycopg.OperationalError | PoolTimeout | SATimeoutError)


def unavailable_response(path: str) -> Response:
    return problem_response(
        503,
        "Service unavailable",
        "The database cannot be reached right now and nothing was saved; retry in a few seconds.",
        slug="unavailable",
        instance=path,
        headers={"Retry-After": "5"},
    )


def _unstorable(exc: BaseException) -> str | None:
    """What was wrong with a value the database refused (the request's data, not our bug), or None.
    Worded without the value: it may be PII."""
    cause = _driver_error(exc)
    if not isinstance(cause, psycopg.DataError):
        return None
    if "NUL" in str(cause):
        return "text values must not contain NUL (U+0000) characters"
    if isinstance(cause, psycopg.errors.NumericValueOutOfRange):
        return "a number is outside the range it can be stored in"
    if isinstance(cause, psycopg.errors.StringDataRightTruncation):
        return "a text value is longer than allowed"
    return "a value cannot be stored as sent"


def log_unhandled(exc: BaseException, **context: object) -> None:
    """Log a 500 so the ``request_id`` a caller quotes finds it: where it happened (frames and
    exception types), never the exception's message (it may hold SQL parameters and so PII)."""
    log.error(
        "unhandled_exception",
        request_id=request_id_var.get(),
        **context,
        error_type=type(exc).__name__,
        traceback=safe_traceback(exc),
    )


async def _unhandled(request: Request, exc: Exception) -> Response:
    unstorable = _unstorable(exc)
    if unstorable is not None:
        # Only data the request sent reaches the database as values; nothing was saved.
        return problem_response(
            422,
            "Your request is not valid",
            f"Nothing was saved: {unstorable}. Correct the values and send the request again.",
            slug="validation-error",
            instance=request.url.path,
        )
    if database_unavailable(exc):
        log.warning("database_unavailable", path=request.url.path, error_type=type(exc).__name__)
        return unavailable_response(request.url.path)
    log_unhandled(exc, path=request.url.path)
    return problem_response(
        500,
        "Internal error",
        "Something went wrong on our side and nothing was saved. Retry later; quote the "
        "request_id if you contact support.",
        slug="internal-error",
        instance=request.url.path,
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unhandled)
