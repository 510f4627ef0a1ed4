"""The class, not the instance: every time and every free-text input of every route, found from the
OpenAPI document (request bodies, query and path parameters), is fed a value the API must refuse —
a time without a zone, a bare date where a time is due, a date whose arithmetic would overflow, a
control character — and must answer 422 naming that very field, never 500 and never a 422 about
something else. A schema field added later with a plain ``datetime`` or ``str`` fails here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.auth.test_matrix import all_routes
from tests.kit.conftest import caller, fill

NAIVE_TIMES = ("2026-11-25T08:00:00", "2026-11-25")
BAD_DATES = ("9999-12-31", "0001-01-01")
BAD_TEXT = ("a\x00b", "a\x1bb", "a\x7fb")
Loc = tuple[str | int, ...]


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        *_, name = schema["$ref"].split("/")
        schema = doc["components"]["schemas"][name]
    return schema


def _leaves(
    doc: dict[str, Any], schema: dict[str, Any], loc: Loc = ()
) -> Iterator[tuple[Loc, dict[str, Any]]]:
    """The string-typed leaves of a schema, with where they sit (property names, 0 for an item)."""
    schema = _resolve(doc, schema)
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, ()):
            yield from _leaves(doc, sub, loc)
    if "properties" in schema:
        for name, sub in schema["properties"].items():
            yield from _leaves(doc, sub, (*loc, name))
    elif schema.get("type") == "array" and "items" in schema:
        yield from _leaves(doc, schema["items"], (*loc, 0))
    elif schema.get("type") == "string" and "enum" not in schema and "const" not in schema:
        yield loc, schema


def _bad_values(leaf: dict[str, Any]) -> tuple[str, ...]:
    fmt = leaf.get("format")
    if fmt == "date-time":
        return NAIVE_TIMES
    if fmt == "date":
        return BAD_DATES
    if fmt in ("uuid", "binary"):
        return ()
    return BAD_TEXT


def _place(loc: Loc, value: Any) -> Any:
    for part in reversed(loc):
        value = [value] if isinstance(part, int) else {part: value}
    return value


def _field(where: str, loc: Loc) -> str:
    """The name problems.py gives a location (``body.items[0].note``)."""
    out = where
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _cases(doc: dict[str, Any]) -> Iterator[tuple[str, str, str, str, Loc, str]]:
    """(method, path template, where, param name, location, bad value) for every input."""
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for param in op.get("parameters", ()):
                if param["in"] == "header":
                    continue  # HTTP servers refuse control characters in headers before we see them
                for loc, leaf in _leaves(doc, param["schema"]):
                    for value in _bad_values(leaf):
                        yield method.upper(), path, param["in"], param["name"], loc, value
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                for loc, leaf in _leaves(doc, content["application/json"]["schema"]):
                    for value in _bad_values(leaf):
                        yield method.upper(), path, "body", "", loc, value


@pytest.fixture
async def openapi(client) -> dict[str, Any]:
    doc: dict[str, Any] = (await client.get("/openapi.json")).json()
    return doc


async def test_every_time_and_text_input_is_a_422_naming_it(client, role_keys, openapi) -> None:
    routes = {(m, p): r for m, p, r in all_routes()}
    checked: set[str] = set()
    failures = []
    for method, path, where, name, loc, value in _cases(openapi):
        headers = caller(routes[(method, path)], role_keys)
        kw: dict[str, Any] = {"headers": headers}
        if where == "body":
            kw["json"] = _place(loc, value)
            field = _field("body", loc)
            url = fill(path)
        elif where == "query":
            kw["params"] = {name: value}
            field = f"query.{name}"
            url = fill(path)
        else:
            url = fill(path, **{name: quote(value, safe="")})
            field = f"path.{name}"
        r = await client.request(method, url, **kw)
        # Pydantic names the part (``body.``, ``query.``, ``path.``); service checks name the field.
        names = (field, field.partition(".")[2])
        named = r.status_code == 422 and any(e["field"] in names for e in r.json().get("errors", ()))
        if not named:
            failures.append(f"{method} {path} {field}={value!r} → {r.status_code} {r.text[:300]}")
        checked.add(f"{method} {path} {field}")
    assert not failures, "\n".join(failures)
    # The sweep really reaches the inputs this suite was written for.
    for expected in (
        "PUT /v1/identities/{account_id} body.verification.verified_at",
        "PUT /v1/identities/{account_id} body.guardian.relationship",
        "POST /v1/platforms body.contact_filed_at",
        "POST /v1/platforms body.in_scope_since",
        "GET /v1/audit-events query.since",
        "GET /v1/takedown-orders query.due_before",
        "POST /v1/takedown-orders body.items[0].note",
        "POST /v1/webhook-endpoints body.event_types[0]",
        "GET /v1/accounts/{account_id}/violations path.account_id",
    ):
        assert expected in checked, expected


async def test_a_zoned_time_is_kept_as_the_same_instant_in_utc(client, role_keys) -> None:
    from tests.factories import auth
    from tests.identities.helpers import body
    from vncomply.kit.principal import Role

    verification = {"method": "sms_otp", "verified_at": "2026-01-01T15:00:00+07:00"}
    r = await client.put(
        "/v1/identities/zoned", headers=auth(role_keys[Role.platform]), json=body(verification=verification)
    )
    assert r.status_code == 201, r.text
    assert r.json()["verified_at"] in ("2026-01-01T08:00:00Z", "2026-01-01T08:00:00+00:00")


async def test_descriptions_keep_line_breaks_names_do_not(client, role_keys) -> None:
    from tests.factories import auth
    from vncomply.kit.principal import Role

    headers = auth(role_keys[Role.platform])
    ok = await client.post(
        "/v1/webhook-endpoints",
        headers=headers,
        json={"url": "http://127.0.0.1:9/hook", "description": "pager\nsecond line\tend"},
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["description"] == "pager\nsecond line\tend"
    bad = await client.post(
        "/v1/webhook-endpoints", headers=headers, json={"url": "http://127.0.0.1:9/\nhook"}
    )
    assert bad.status_code == 422, bad.text
    assert [e["field"] for e in bad.json()["errors"]] == ["body.url"]
