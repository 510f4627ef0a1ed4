"""Schemathesis hooks for tests/test_fuzz.py, loaded through ``SCHEMATHESIS_HOOKS``.

Schemathesis draws ``date-time`` values from RFC 3339, which always carries a zone; clients send
times without one (``2026-11-25T08:00:00``) and bare dates just as well, and those once answered
500. So every date-time is drawn from all three shapes, over the full range of years (the edges
overflow date arithmetic).

A random body rarely gets past the first checks of a service (a valid Vietnamese mobile, an ID
number that agrees with the date of birth), so the times in it are never compared with anything.
The second hook therefore also sends each operation's documented examples — valid bodies — with
only their times replaced by drawn ones: that reaches the code that computes with the time.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import schemathesis
from hypothesis import strategies as st

_DATES = st.dates().map(str)
_TIMES = st.times().map(lambda t: t.isoformat())
_ZONES = st.sampled_from(["Z", "+00:00", "+07:00", "-23:59", "+23:59"])

DATE_TIMES = st.one_of(
    st.builds("{}T{}{}".format, _DATES, _TIMES, _ZONES),
    st.builds("{}T{}".format, _DATES, _TIMES),  # no zone
    _DATES,  # a bare date
)

schemathesis.openapi.format("date-time", DATE_TIMES)


def _examples(operation: Any) -> list[Any]:
    """The documented examples of an operation's JSON body."""
    if operation is None:
        return []
    content = operation.definition.raw.get("requestBody", {}).get("content", {})
    media = content.get("application/json", {})
    schema = media.get("schema", {})
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = operation.schema.raw_schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    named = [e["value"] for e in media.get("examples", {}).values() if "value" in e]
    return [e for e in (*schema.get("examples", ()), *named) if isinstance(e, dict)]


def _is_time(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in value


def _with_times(example: Any, times: list[str]) -> Any:
    """``example`` with each of its date-times replaced, in turn, by one of ``times``."""
    out = copy.deepcopy(example)
    todo = [out]
    n = 0
    while todo:
        node = todo.pop()
        keys = range(len(node)) if isinstance(node, list) else list(node)
        for key in keys:
            value = node[key]
            if isinstance(value, dict | list):
                todo.append(value)
            elif isinstance(value, str) and _is_time(value):
                node[key] = times[n % len(times)]
                n += 1
    return out


@schemathesis.hook
def flatmap_body(context: Any, body: Any) -> st.SearchStrategy[Any]:
    examples = [e for e in _examples(context.operation) if _with_times(e, ["x"]) != e]
    if not examples:
        return st.just(body)
    anchored = st.builds(_with_times, st.sampled_from(examples), st.lists(DATE_TIMES, min_size=1, max_size=4))
    return st.one_of(st.just(body), anchored)
