"""Every operation explains itself, and the document matches the wire.

The check walks the app's route table and the OpenAPI document it serves: each route declares its
documentation once (``**doc(...)``, kit/docs.py); the document then says who may call it (from its
``require(...)`` rule), what it changes, which rule of law it serves, what to do next; lists every
status it can answer, each error as ``application/problem+json`` with the one ``Problem`` schema and
an example; and has request and reply examples that validate against their schemas. A route added
without a declaration, or with an example that does not fit its schema, fails here.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs
import pytest
from fastapi import APIRouter, Depends, FastAPI

from vncomply import openapi, registry
from vncomply.app import DESCRIPTION, create_app
from vncomply.auth.deps import require, route_roles
from vncomply.kit.docs import DOC_KEY, doc
from vncomply.kit.domain import Audience
from vncomply.kit.principal import Role

PROBLEM_JSON = "application/problem+json"
JSON = "application/json"
# Every operation's description says these, in this order.
SECTIONS = ("**Who may call:**", "**What it changes:**", "**Next:**")


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app()


@pytest.fixture(scope="module")
def document(app: FastAPI) -> dict[str, Any]:
    # What a client downloads: through JSON, as served.
    return json.loads(json.dumps(app.openapi()))


def _validator(schema: dict[str, Any], document: dict[str, Any]) -> Any:
    return jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]})


def _example_problems(where: str, content: dict[str, Any], document: dict[str, Any]) -> list[str]:
    if "example" not in content:
        return [f"{where}: no example"]
    errors = list(_validator(content["schema"], document).iter_errors(content["example"]))
    return [f"{where}: example does not fit its schema: {errors[0]}"] if errors else []


def undocumented(document: dict[str, Any], routes: list[Any]) -> list[str]:
    """What the document fails to say about each route (empty when all is said)."""
    found: list[str] = []
    declared_tags = {t["name"] for t in document.get("tags", [])}
    for route, path in openapi.documented_routes(routes):
        for method in sorted(route.methods - {"HEAD"}):
            op = document["paths"][path][method.lower()]
            name = f"{method} {path}"
            if DOC_KEY not in (route.openapi_extra or {}):
                found.append(f"{name}: no doc(...) declaration")
                continue
            if not op.get("summary"):
                found.append(f"{name}: no summary")
            description = op.get("description", "")
            at = [description.find(s) for s in SECTIONS]
            if -1 in at or at != sorted(at):
                found.append(f"{name}: the description lacks one of {SECTIONS}")
            if method != "GET" and "**What it changes:** nothing" in description:
                found.append(f"{name}: a {method} that says it changes nothing")
            if len(op.get("tags", [])) != 1 or op["tags"][0] not in declared_tags:
                found.append(f"{name}: needs exactly one declared tag, has {op.get('tags')}")
            found.extend(_responses_problems(name, route, op, document))
            body = op.get("requestBody", {}).get("content", {})
            if JSON in body:
                found.extend(_example_problems(f"{name} request body", body[JSON], document))
    return found


def _responses_problems(name: str, route: Any, op: dict[str, Any], document: dict[str, Any]) -> list[str]:
    found = []
    responses = op.get("responses", {})
    expected = set()
    if route_roles(route) is not None:
        expected |= {"401", "429", "503"}
    ids = [p for p in op.get("parameters", []) if p["in"] == "path" and p["schema"].get("format") == "uuid"]
    if ids:
        expected.add("404")  # an id we issued, in the path, can always be one that does not exist
    if op.get("requestBody") or op.get("parameters"):
        expected.add("422")
    missing = expected - set(responses)
    if missing:
        found.append(f"{name}: does not document {sorted(missing)}")
    for status, response in responses.items():
        content = response.get("content", {})
        if status.startswith(("4", "5")):
            if set(content) != {PROBLEM_JSON}:
                found.append(f"{name} {status}: not documented as {PROBLEM_JSON} alone")
                continue
            media = content[PROBLEM_JSON]
            if media.get("schema") != {"$ref": "#/components/schemas/Problem"}:
                found.append(f"{name} {status}: not the Problem schema")
            found.extend(_example_problems(f"{name} {status}", media, document))
            if media.get("example", {}).get("status") != int(status):
                found.append(f"{name} {status}: the example's status is not {status}")
        elif status.startswith("2") and JSON in content:
            found.extend(_example_problems(f"{name} {status}", content[JSON], document))
    return found


def test_every_operation_explains_itself(app: FastAPI, document: dict[str, Any]) -> None:
    found = undocumented(document, app.routes)
    assert not found, "\n".join(found)


def test_every_domain_route_is_in_the_document(app: FastAPI, document: dict[str, Any]) -> None:
    documented = {(m, p) for r, p in openapi.documented_routes(app.routes) for m in r.methods}
    for route in registry.routes():
        for method in route.methods - {"HEAD"}:  # type: ignore[attr-defined]
            assert (method, route.path) in documented  # type: ignore[attr-defined]


def test_the_check_catches_an_undocumented_route() -> None:
    """The check itself: a route without a declaration, and one whose example breaks its schema."""
    router = APIRouter()
    admin = Depends(require(Role.admin))

    @router.get("/v1/things/{thing_id}", tags=["platforms"], dependencies=[admin])
    async def bare(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    @router.post(
        "/v1/things",
        tags=["platforms"],
        dependencies=[admin],
        **doc(summary="Make a thing", changes="Makes one.", next="Use it.", reply={"id": "one"}),
    )
    async def make() -> dict[str, int]:
        return {"id": 1}

    app = FastAPI(openapi_tags=registry.openapi_tags())
    app.include_router(router)
    document = json.loads(json.dumps(openapi.complete(app.openapi(), app.routes)))
    found = undocumented(document, app.routes)
    assert any(f.startswith("GET /v1/things/{thing_id}: no doc(...)") for f in found), found
    assert any(f.startswith("POST /v1/things 200: example does not fit") for f in found), found


def test_errors_are_the_problem_schema_everywhere(document: dict[str, Any]) -> None:
    text = json.dumps(document)
    assert "HTTPValidationError" not in text
    assert "ValidationError" not in document["components"]["schemas"]
    problem = document["components"]["schemas"]["Problem"]
    assert problem["required"] == ["type", "title", "status", "detail"]
    assert set(problem["properties"]) == {
        "type",
        "title",
        "status",
        "detail",
        "instance",
        "request_id",
        "errors",
    }
    field = document["components"]["schemas"]["FieldError"]
    assert field["required"] == ["field", "message", "code"]


def test_roles_in_the_description_are_the_routes_rule(app: FastAPI, document: dict[str, Any]) -> None:
    for route, path in openapi.documented_routes(app.routes):
        for method in route.methods - {"HEAD"}:
            description = document["paths"][path][method.lower()].get("description", "")
            assert f"**Who may call:** {openapi.who_may_call(route_roles(route))}" in description, path


def test_tags_are_ordered_by_audience_and_described(document: dict[str, Any]) -> None:
    tags = document["tags"]
    assert all(t["description"] for t in tags)
    by_name = {t.name: t for t in registry.tags()}
    ranks = [by_name[t["name"]].audience.rank for t in tags]
    assert ranks == sorted(ranks)
    groups = [g["name"] for g in document["x-tagGroups"]]
    assert groups == [a.value for a in Audience if a.value in groups]
    assert groups[0] == "Platform integration"
    assert groups[-1] == "Health"
    assert {t for g in document["x-tagGroups"] for t in g["tags"]} == set(by_name)


@pytest.mark.parametrize(
    "needle",
    [
        "POST /v1/api-keys",  # how to get a key
        "application/problem+json",  # errors
        "Idempotency-Key",
        "next_cursor",  # pagination
        "429",  # rate limits
        "Retry-After",
        "Asia/Ho_Chi_Minh",  # time zones
        "Z",
    ],
)
def test_the_introduction_explains_the_conventions(needle: str) -> None:
    assert needle in DESCRIPTION
