"""RFC 9457 problem+json rendering for every error the API can produce."""

from __future__ import annotations

import re
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

from vncomply.kit.docs import body_shape
from vncomply.kit.errors import PROBLEM_BASE, DomainError
from vncomply.kit.logs import get_logger, safe_traceback
from vncomply.kit.types import ZONE_HINT

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


# What to send instead, for the mistakes a newcomer makes most often (by pydantic error type).
DATE_HINT = "must be a date as YYYY-MM-DD, e.g. 2026-10-01"
DATETIME_HINT = f"must be a date and time in ISO 8601 with a time zone ({ZONE_HINT})"
_DATE_TYPES = frozenset(
    {"date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact", "date_type"}
)
_DATETIME_TYPES = frozenset({"datetime_parsing", "datetime_from_date_parsing", "datetime_type"})
# A body that is not a JSON object: sent as something else, or not JSON at all.
_NOT_AN_OBJECT = frozenset({"model_attributes_type", "dict_type", "model_type"})
_JSON_MEDIA = re.compile(r"^application/([a-z0-9.+-]*\+)?json$")


def _is_json(request: Request | None) -> bool:
    if request is None:
        return True
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return bool(_JSON_MEDIA.match(media))


def _body_message(code: str, request: Request | None) -> str | None:
    """The message for a problem with the body as a whole, showing what to send; None if not one."""
    route = request.scope.get("route") if request is not None else None
    shape = body_shape(route) if route is not None else None
    such_as = f", such as {shape}" if shape else ""
    if code == "missing":
        return f"this operation needs a JSON body{such_as}"
    if code in _NOT_AN_OBJECT or code == "json_invalid":
        if not _is_json(request):
            return f"send the body as JSON with `Content-Type: application/json`{such_as}"
        if code == "json_invalid":
            return f"the body is not valid JSON; send a JSON object{such_as}"
        return f"the body must be a JSON object{such_as}"
    return None


def _message(err: Any, field: str, request: Request | None) -> str:
    code = str(err.get("type"))
    if field == "body":
        body = _body_message(code, request)
        if body is not None:
            return body
    if code in _DATE_TYPES:
        return DATE_HINT
    if code in _DATETIME_TYPES:
        return DATETIME_HINT
    # pydantic prefixes messages raised from our validators with "Value error, ".
    return str(err.get("msg", "invalid")).removeprefix("Value error, ")


def validation_errors(exc: RequestValidationError, request: Request | None = None) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        # A body that is not JSON at all is reported at ("body", <position>): it is the body's.
        field = "body" if err.get("type") == "json_invalid" else _loc(loc)
        errors.append({"field": field, "message": _message(err, field, request), "code": err.get("type")})
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
    errors = validation_errors(exc, request)
    shown = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors[:5])
    more = f"; and {len(errors) - 5} more" if len(errors) > 5 else ""
    return problem_response(
        422,
        "Your request is not valid",
        f"{len(errors)} field(s) are invalid: {shown}{more}. See `errors` for each.",
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
