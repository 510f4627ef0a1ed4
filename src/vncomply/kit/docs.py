"""Each operation's documentation, declared once, beside its route:

    @router.post("", status_code=201, response_model=OrderOut, **doc(
        summary="Submit a takedown order",
        changes="Records the order, starts its clock, announces `takedown.received`.",
        rule="takedown.standard.v1",
        next="Watch `due_at`; the platform resolves every item before it.",
        errors={404: "No authority with this id addresses the platform."},
        example={...},            # a request body
        reply={...},              # the success body
    ))

``doc()`` returns the decorator's ``summary``, ``responses`` (the success example, the declared error
statuses) and ``openapi_extra`` (the request example, and the rest of the declaration under
``x-vncomply``). What is true of the route already is *not* restated here: when the document is built
(``vncomply.openapi``), who may call it is read from its ``require(...)`` rule, the rule of law's text
from the rulebook, and the statuses any keyed route can answer (401, 403, 429, 503), any body (413,
422) and any ``Idempotency-Key`` (409, 422) are added, each with an ``application/problem+json``
example. A route without a declaration fails tests/test_openapi_docs.py.

The problem shape itself (``Problem``) is documented here once; every error status refers to it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import TypeAdapter

from vncomply.kit.errors import (
    PROBLEM_BASE,
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
    Unauthenticated,
)

DOC_KEY = "x-vncomply"
PROBLEM_JSON = "application/problem+json"
JSON = "application/json"
EXAMPLE_REQUEST_ID = "6f1c0a9e2b7d4c31000000000000002a"


# The problem shape, once (RFC 9457 plus what kit/problems.py adds); every error status refers to it.
FIELD_ERROR_SCHEMA: dict[str, Any] = {
    "title": "FieldError",
    "description": "One invalid part of a request.",
    "type": "object",
    "required": ["field", "message", "code"],
    "properties": {
        "field": {
            "type": "string",
            "description": "where: `body.items[0].url`, `query.limit`, a header name; `body` for "
            "the whole body",
        },
        "message": {"type": "string", "description": "what is wrong and what to send instead"},
        "code": {
            "type": "string",
            "description": "a stable machine code (`missing`, `date_from_datetime_parsing`, `invalid`, …)",
        },
    },
}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An error, as RFC 9457 problem details (`application/problem+json`). Every error "
    "status of this API answers with this shape; some add members of their own (an illegal "
    "transition's `current_state`, a failed `/readyz`'s `failures`, a wrong code's `attempts_left`).",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {
            "type": "string",
            "description": "a URI naming the kind of problem (`https://vncomply.dev/problems/…`); "
            "stable: switch on it, not on `title` or `detail`",
        },
        "title": {"type": "string", "description": "a short, human summary of the kind"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599, "description": "the HTTP status"},
        "detail": {"type": "string", "description": "what went wrong in this request, and what to do"},
        "instance": {"type": "string", "description": "the path of the request"},
        "request_id": {
            "type": "string",
            "description": "quote it to support: it finds the request in the logs (also `X-Request-ID`)",
        },
        "errors": {
            "type": "array",
            "description": "on a 422: every invalid part of the request at once",
            "items": {"$ref": "#/components/schemas/FieldError"},
        },
    },
    "additionalProperties": True,
}


# The kind of problem each status is, and a detail a caller would typically see.
_KINDS: dict[int, tuple[type[DomainError], str]] = {
    401: (Unauthenticated, "Send a valid, unexpired API key as `Authorization: Bearer vnc_…`."),
    403: (Forbidden, "This operation needs another key's role."),
    404: (NotFound, "No such resource for this key."),
    409: (Conflict, "The resource is not in a state that allows this."),
    410: (Gone, "This is no longer available."),
    413: (PayloadTooLarge, "Bodies are limited to 1048576 bytes here; send fewer items per request."),
    422: (InvalidInput, "1 field(s) are invalid: body.reason: Field required. See `errors` for each."),
    429: (RateLimited, "This key may make 50 requests per second (bursts of 100); retry after 1 s."),
    503: (
        ServiceUnavailable,
        "The database cannot be reached right now and nothing was saved; retry in a few seconds.",
    ),
}
_OTHER_KINDS = {415: ("unsupported-media-type", "Unsupported media type")}
ERROR_STATUSES = frozenset(_KINDS) | frozenset(_OTHER_KINDS)


def problem_example(status: int, detail: str | None = None, **extra: Any) -> dict[str, Any]:
    """What a caller receives for ``status``: a problem body with a typical (or the given) detail."""
    if status in _KINDS:
        kind, typical = _KINDS[status]
        slug, title = kind.slug, kind.title
    else:
        (slug, title), typical = _OTHER_KINDS[status], "Send the body in the documented media type."
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail or typical,
        "instance": "/v1/…",
        "request_id": EXAMPLE_REQUEST_ID,
    }
    if status == 422 and "errors" not in extra:
        extra["errors"] = [{"field": "body.reason", "message": "Field required", "code": "missing"}]
    return {**body, **extra}


def problem_response(
    status: int, detail: str | None = None, *, description: str | None = None, **extra: Any
) -> dict[str, Any]:
    """The OpenAPI response object for an error status (the schema is ``Problem``, by reference):
    described by ``description``, else the declared ``detail``, else the kind's title."""
    example = problem_example(status, detail, **extra)
    return {
        "description": description or detail or example["title"],
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}, "example": example}},
    }


def doc(
    *,
    summary: str,
    next: str,
    changes: str | None = None,
    about: str | None = None,
    rule: str | tuple[str, ...] | None = None,
    errors: Mapping[int, str] | Iterable[int] = (),
    example: Any = None,
    reply: Any = None,
    reply_status: int = 200,
    also: Mapping[int, Mapping[str, Any]] | None = None,
    request_body: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The route decorator's documentation kwargs (see the module docstring).

    ``changes`` is what the operation changes (state, audit record, events); a read may leave it out.
    ``errors`` are the statuses particular to this route (404, 409, 410, 415, …), optionally with the
    detail a caller would see. ``also`` adds further success responses (e.g. 200 for an identical
    retry of a creating POST): ``{200: {"description": …, "model": OrderOut}}``. ``request_body``
    documents a body the route reads itself (not a model), e.g. an NDJSON stream.
    """
    declared = dict(errors) if isinstance(errors, Mapping) else dict.fromkeys(errors, "")
    unknown = set(declared) - ERROR_STATUSES
    if unknown:
        raise ValueError(f"no problem kind for status(es) {sorted(unknown)}: add one to kit/docs.py")
    responses: dict[int | str, dict[str, Any]] = {s: dict(r) for s, r in (also or {}).items()}
    if reply is not None:
        responses.setdefault(reply_status, {})["content"] = {JSON: {"example": reply}}
    for status, detail in declared.items():
        responses[status] = problem_response(status, detail or None)
    extra: dict[str, Any] = {
        DOC_KEY: {
            "changes": changes,
            "about": about,
            "rule": rule,
            "next": next,
            "errors": sorted(declared),
        }
    }
    if request_body is not None:
        extra["requestBody"] = dict(request_body)
    if example is not None:
        extra["requestBody"] = {"content": {JSON: {"example": example}}}
    return {"summary": summary, "responses": responses, "openapi_extra": extra}


def page_of(*items: Any, next_cursor: str | None = None) -> dict[str, Any]:
    """A list reply's example: ``items`` and the cursor of the next page."""
    return {"items": list(items), "next_cursor": next_cursor}


def body_example(route: Any) -> Any:
    """The request body example a route documents, or None."""
    extra = getattr(route, "openapi_extra", None) or {}
    return extra.get("requestBody", {}).get("content", {}).get(JSON, {}).get("example")


def body_shape(route: Any) -> str | None:
    """What a route's JSON body looks like, for a message telling a caller what to send: the
    route's documented example, else its model's first, else its required fields with
    placeholders. None without a body."""
    example = body_example(route)
    if example is not None:
        return _readable(example)
    field = getattr(route, "body_field", None)
    if field is None:
        return None
    schema = TypeAdapter(field.field_info.annotation).json_schema()
    if schema.get("examples"):
        return _readable(schema["examples"][0])
    required = schema.get("required", [])
    props = schema.get("properties", {})
    return "{" + ", ".join(f'"{name}": {_placeholder(props.get(name, {}))}' for name in required) + "}"


def _readable(value: Any) -> str:
    # Spaced as a person would type it (orjson's compact form is harder to read in a message).
    return json.dumps(value, ensure_ascii=False)


def _placeholder(prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return '"' + "|".join(str(v) for v in prop["enum"]) + '"'
    kind = "object" if "$ref" in prop else prop.get("type")
    return {"integer": "0", "number": "0", "boolean": "false", "array": "[…]", "object": "{…}"}.get(
        str(kind), '"…"'
    )
