"""How a domain package declares itself to the registry (``vncomply.registry``).

A domain's ``__init__.py`` holds one ``DOMAIN = Domain(...)``: its OpenAPI tags and the event types it
emits. Its parts are found by convention, by module name: ``models`` (tables, for Alembic),
``router`` (its ``router``), ``tasks`` (Celery task wrappers), ``deadline`` (deadline handlers,
registered at import). The declaration must stay import-light: the registry reads every domain's
declaration before anything else is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

PARTS = ("models", "router", "tasks", "deadline")


@dataclass(frozen=True, slots=True)
class Tag:
    name: str
    description: str

    def openapi(self) -> dict[str, str]:
        return {"name": self.name, "description": self.description}


@dataclass(frozen=True, slots=True)
class Domain:
    tags: tuple[Tag, ...] = ()
    events: tuple[str, ...] = ()
