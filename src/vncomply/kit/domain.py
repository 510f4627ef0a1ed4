"""How a domain package declares itself to the registry (``vncomply.registry``).

A domain's ``__init__.py`` holds one ``DOMAIN = Domain(...)``: its OpenAPI tags and the event types it
emits. Its parts are found by convention, by module name: ``models`` (tables, for Alembic),
``router`` (its ``router``), ``tasks`` (Celery task wrappers), ``deadline`` (deadline handlers,
registered at import). The declaration must stay import-light: the registry reads every domain's
declaration before anything else is loaded.

Each tag names the audience that reads it; the document lists tags audience by audience, in the
order of ``Audience`` (the people who integrate first, health last), whatever the domains' order.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

PARTS = ("models", "router", "tasks", "deadline")


class Audience(enum.Enum):
    """Who reads a tag, in the order the document presents them (value: the group's heading)."""

    platform = "Platform integration"
    authorities = "Authorities"
    officers = "Compliance officers"
    operators = "Operators"
    health = "Health"

    @property
    def rank(self) -> int:
        return list(Audience).index(self)


@dataclass(frozen=True, slots=True)
class Tag:
    name: str
    description: str
    audience: Audience

    def openapi(self) -> dict[str, str]:
        return {"name": self.name, "description": f"*{self.audience.value}.* {self.description}"}


@dataclass(frozen=True, slots=True)
class Domain:
    tags: tuple[Tag, ...] = ()
    events: tuple[str, ...] = ()
