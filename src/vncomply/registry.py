"""The one registry: the domain packages, listed once.

Everything the wiring needs is derived from this list and each domain's declaration (its
``DOMAIN`` in ``__init__.py``, see ``vncomply.kit.domain``): the routers, the OpenAPI tags, the
Celery task modules, the deadline-handler modules, the event types, and the model modules that
Alembic's metadata is built from. Adding a domain means adding its name here, nowhere else.
"""

from __future__ import annotations

import importlib
import importlib.util
from functools import cache
from typing import TYPE_CHECKING, Any

from vncomply.kit.domain import PARTS, Domain, Tag

if TYPE_CHECKING:
    from fastapi import APIRouter
    from sqlalchemy import MetaData
    from starlette.routing import BaseRoute

# The order is the order of the routers (the OpenAPI tags are ordered by audience, see tags()).
DOMAINS: tuple[str, ...] = (
    "health",
    "platforms",
    "authorities",
    "auth",
    "audit",
    "rulebook",
    "identities",
    "events",
    "takedowns",
    "blocks",
    "disclosures",
    "reports",
    "filings",
    "breaches",
    "idempotency",
    "deadlines",
)

# Routes that stream large bodies and enforce their own limits, by exact method and path (a prefix
# would exempt e.g. PUT /v1/identities/bulk, which is PUT /v1/identities/{account_id}), each with the
# setting that caps its body.
STREAMING_ROUTES: dict[tuple[str, str], str] = {("POST", "/v1/identities/bulk"): "bulk_max_bytes"}


def _package(name: str) -> str:
    return f"vncomply.{name}"


@cache
def declarations() -> dict[str, Domain]:
    return {name: importlib.import_module(_package(name)).DOMAIN for name in DOMAINS}


@cache
def parts(part: str) -> tuple[str, ...]:
    """The dotted names of every domain module called ``part`` (``models``, ``router``, …)."""
    if part not in PARTS:
        raise ValueError(f"unknown domain part {part!r}; one of {PARTS}")
    found = []
    for name in DOMAINS:
        module = f"{_package(name)}.{part}"
        if importlib.util.find_spec(module) is not None:
            found.append(module)
    return tuple(found)


def task_modules() -> list[str]:
    return list(parts("tasks"))


def deadline_modules() -> list[str]:
    return list(parts("deadline"))


@cache
def event_types() -> frozenset[str]:
    return frozenset(t for d in declarations().values() for t in d.events)


def tags() -> list[Tag]:
    """Every declared tag, audience by audience (``Audience`` order), domains' order within one."""
    declared = [tag for d in declarations().values() for tag in d.tags]
    return sorted(declared, key=lambda tag: tag.audience.rank)


def openapi_tags() -> list[dict[str, str]]:
    return [tag.openapi() for tag in tags()]


def tag_groups() -> list[dict[str, Any]]:
    """The tags grouped by audience (ReDoc's ``x-tagGroups``), in the same order."""
    groups: dict[str, list[str]] = {}
    for tag in tags():
        groups.setdefault(tag.audience.value, []).append(tag.name)
    return [{"name": name, "tags": names} for name, names in groups.items()]


def routers() -> list[APIRouter]:
    return [importlib.import_module(m).router for m in parts("router")]


def routes() -> list[BaseRoute]:
    """Every domain route (the routers carry full paths: they are included without a prefix)."""
    return [route for router in routers() for route in router.routes]


def metadata() -> MetaData:
    """The metadata with every domain's tables (Alembic and the test harness use it)."""
    for module in parts("models"):
        importlib.import_module(module)
    from vncomply.kit.db import Base

    return Base.metadata
