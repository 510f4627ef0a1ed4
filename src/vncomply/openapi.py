"""The OpenAPI document as callers need it: FastAPI's, completed from what the routes already declare.

Each operation's ``doc(...)`` declaration (``vncomply.kit.docs``) gives its summary, what it changes,
the rule of law it serves, what to do next, its own error statuses and its examples. Here, once for
every route, the rest is derived rather than restated:

- who may call it, from its ``require(...)`` rule (``auth.deps.route_roles``), into the description;
- the rule's text and source, from the rulebook;
- the statuses every route of a kind can answer: a keyed route 401, 429 and 503 (and 403 unless
  every role may call it), a route with input 422, a route with a body 413, an ``Idempotency-Key``
  409 and 422; each with an ``application/problem+json`` example;
- the examples: a request body's and a success reply's come from their schemas' ``examples``
  (a list's from its items'), unless the route gives its own;
- one ``Problem`` schema for every error status, replacing FastAPI's ``HTTPValidationError``, which
  is not what the service sends (kit/problems.py renders every error, validation included).
"""

from __future__ import annotations

from typing import Any, get_args

from fastapi.encoders import jsonable_encoder
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from starlette.routing import BaseRoute

from vncomply import registry
from vncomply.auth.deps import route_roles
from vncomply.idempotency.route import HEADER as IDEMPOTENCY_HEADER
from vncomply.kit.clock import VN_TZ
from vncomply.kit.docs import (
    DOC_KEY,
    FIELD_ERROR_SCHEMA,
    JSON,
    PROBLEM_SCHEMA,
    body_example,
    problem_response,
)
from vncomply.kit.principal import Role
from vncomply.rulebook.rules import rule_by_id

_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")
_RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}
}


def complete(document: dict[str, Any], routes: list[BaseRoute]) -> dict[str, Any]:
    """Complete FastAPI's ``document`` (in place) from the app's ``routes``; returns it."""
    document["x-tagGroups"] = registry.tag_groups()
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION:
        schemas.pop(name, None)
    schemas.update(problem_schemas())
    documented = documented_routes(routes)
    _restore_examples(schemas, [route for route, _ in documented])
    for route, path in documented:
        for method in sorted((route.methods or set()) - {"HEAD"}):
            operation = document["paths"][path][method.lower()]
            _restore_route_examples(route, operation)
            _complete_operation(route, operation)
            _add_examples(operation, schemas)
    return document


def documented_routes(routes: list[BaseRoute]) -> list[tuple[APIRoute, str]]:
    """Every route in the document with its path there (routers are included as they are)."""
    out = []
    for context in iter_route_contexts(routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.include_in_schema and context.path_format:
            out.append((route, context.path_format))
    return out


def _models(annotation: Any, seen: dict[str, type[BaseModel]]) -> None:
    """Every pydantic model reachable from ``annotation`` (through generics and fields), by name."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if seen.get(annotation.__name__) is annotation:
            return
        seen[annotation.__name__] = annotation
        for info in annotation.model_fields.values():
            _models(info.annotation, seen)
        return
    for arg in get_args(annotation):
        _models(arg, seen)


def _restore_examples(schemas: dict[str, Any], routes: list[APIRoute]) -> None:
    """Put the models' own ``examples`` back into their components. FastAPI drops every ``None``
    from the document it builds, examples included (so ``"completed_at": null`` vanishes and the
    example no longer fits its schema)."""
    seen: dict[str, type[BaseModel]] = {}
    for route in routes:
        _models(route.response_model, seen)
        if route.body_field is not None:
            _models(route.body_field.field_info.annotation, seen)
        for response in route.responses.values():
            _models(response.get("model"), seen)
    for name, schema in schemas.items():
        model = seen.get(name.removesuffix("-Input").removesuffix("-Output"))
        extra = model.model_config.get("json_schema_extra") if model is not None else None
        if isinstance(extra, dict) and "examples" in extra and "examples" in schema:
            schema["examples"] = jsonable_encoder(extra["examples"])


def _restore_route_examples(route: APIRoute, operation: dict[str, Any]) -> None:
    """The same for the examples a route's ``doc(...)`` gave (request body, replies)."""
    example = body_example(route)
    if example is not None:
        operation["requestBody"]["content"][JSON]["example"] = jsonable_encoder(example)
    for status, response in route.responses.items():
        reply = response.get("content", {}).get(JSON, {})
        if "example" in reply:
            operation["responses"][str(status)]["content"][JSON]["example"] = jsonable_encoder(
                reply["example"]
            )


def problem_schemas() -> dict[str, Any]:
    """``Problem`` and ``FieldError`` as components (``Problem`` refers to ``FieldError``)."""
    return {"Problem": PROBLEM_SCHEMA, "FieldError": FIELD_ERROR_SCHEMA}


def _complete_operation(route: APIRoute, operation: dict[str, Any]) -> None:
    roles = route_roles(route)
    declaration = operation.pop(DOC_KEY, None)
    if declaration is not None:
        # What the route class itself adds (e.g. the idempotent replay of a one-time secret) stays.
        operation["description"] = describe(declaration, roles, also=route.description)
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status, response in _derived_responses(route, roles, operation).items():
        current = responses.get(str(status))
        if current is None or _is_fastapi_validation(current):
            responses[str(status)] = response
    operation["responses"] = dict(sorted(responses.items()))


def _is_fastapi_validation(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get(JSON, {}).get("schema", {})
    return bool(schema.get("$ref", "").endswith("/HTTPValidationError"))


def who_may_call(roles: frozenset[Role] | None) -> str:
    if roles is None:
        return "anyone: no key needed."
    if roles == frozenset(Role):
        return "any key."
    names = sorted(r.value for r in roles)
    listed = " or ".join(f"`{n}`" for n in names)
    return f"a key with role {listed}."


def rule_text(rule_id: str) -> str:
    rule = rule_by_id(rule_id)
    since = rule.effective_from.astimezone(VN_TZ).date().isoformat()
    state = f"in force from {since}" if rule.in_force else "a draft, not applied"
    return f"`{rule.id}`: {rule.summary} ({rule.source}; {state})."


def describe(declaration: dict[str, Any], roles: frozenset[Role] | None, also: str = "") -> str:
    """The operation's description: what it is for, who may call it, what it changes, the rule of law
    it serves and what the caller should do next."""
    parts = [p for p in (declaration.get("about"), also.strip()) if p]
    parts.append(f"**Who may call:** {who_may_call(roles)}")
    parts.append(f"**What it changes:** {declaration.get('changes') or 'nothing; it only reads.'}")
    rules = declaration.get("rule")
    if rules:
        ids = (rules,) if isinstance(rules, str) else tuple(rules)
        parts.append("**Rule of law:** " + " ".join(rule_text(r) for r in ids))
    parts.append(f"**Next:** {declaration['next']}")
    return "\n\n".join(parts)


def _derived_responses(
    route: APIRoute, roles: frozenset[Role] | None, operation: dict[str, Any]
) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    if roles is not None:
        out[401] = problem_response(401)
        if roles != frozenset(Role):
            out[403] = _forbidden(roles)
        out[429] = {**problem_response(429), "headers": _RETRY_AFTER}
        out[503] = {**problem_response(503), "headers": _RETRY_AFTER}
    has_body = "requestBody" in operation
    if has_body:
        out[413] = problem_response(413)
    if has_body or "422" in operation.get("responses", {}) or operation.get("parameters"):
        out[422] = problem_response(422)
    if getattr(route.endpoint, "__idempotent__", False):
        out[409] = problem_response(
            409,
            f"A request with this {IDEMPOTENCY_HEADER} is still being processed; retry in a few seconds.",
        )
    return out


def _forbidden(roles: frozenset[Role]) -> dict[str, Any]:
    names = ", ".join(sorted(r.value for r in roles))
    other = sorted(r.value for r in set(Role) - roles)[0]
    return problem_response(
        403,
        f"This operation needs a key with role {names}; yours is {other}.",
        description=f"Not allowed for this key: the operation needs role {names}",
    )


_MISSING: Any = object()


def _add_examples(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    """A media-type ``example`` for the JSON request body and every JSON success reply that has
    none, built from the schemas' own examples."""
    media = [operation.get("requestBody", {}).get("content", {}).get(JSON)]
    for status, response in operation.get("responses", {}).items():
        if status.startswith("2"):
            media.append(response.get("content", {}).get(JSON))
    for content in media:
        if content is None or "example" in content or "schema" not in content:
            continue
        example = example_of(content["schema"], schemas)
        if example is not _MISSING and example is not None:
            content["example"] = example


def example_of(schema: dict[str, Any], schemas: dict[str, Any], depth: int = 0) -> Any:
    """An example value for ``schema``, from the examples it (or what it refers to) declares;
    ``_MISSING`` when a required part has none. Values are never invented: an example a person
    reads is one somebody wrote. Optional members appear only where they have examples."""
    if depth > 8:
        return _MISSING
    if "examples" in schema:
        return schema["examples"][0]
    if "example" in schema:
        return schema["example"]
    if "$ref" in schema:
        return example_of(schemas[schema["$ref"].rsplit("/", 1)[1]], schemas, depth + 1)
    if "const" in schema:
        return schema["const"]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            for option in schema[key]:
                if option.get("type") != "null":
                    found = example_of(option, schemas, depth + 1)
                    if found is not _MISSING:
                        return found
            return None if any(o.get("type") == "null" for o in schema[key]) else _MISSING
    if schema.get("type") == "array":
        item = example_of(schema.get("items", {}), schemas, depth + 1)
        return _MISSING if item is _MISSING else [item]
    if schema.get("type") == "object" and schema.get("properties"):
        required = set(schema.get("required", ()))
        out = {}
        for name, prop in schema["properties"].items():
            if name not in required and not _declares_example(prop, schemas):
                continue
            value = example_of(prop, schemas, depth + 1)
            if value is _MISSING:
                if name in required:
                    return _MISSING
                continue
            out[name] = value
        return out or _MISSING
    return _MISSING


def _declares_example(schema: dict[str, Any], schemas: dict[str, Any]) -> bool:
    if "examples" in schema or "example" in schema:
        return True
    if "$ref" in schema:
        return _declares_example(schemas[schema["$ref"].rsplit("/", 1)[1]], schemas)
    return any(_declares_example(o, schemas) for k in ("anyOf", "oneOf") for o in schema.get(k, ()))
