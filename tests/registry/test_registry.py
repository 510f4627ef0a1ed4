"""The registry is the only list: whatever a domain declares, the app and the worker load."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
import textwrap

import vncomply
from vncomply import registry
from vncomply.kit.domain import Domain

# What the worker process loads by itself: Celery's `include` (the registry's task modules) and
# the deadline engine's handler modules. Printed as JSON by a fresh interpreter, so nothing this
# test process imported can hide a module the worker would miss.
_WORKER_VIEW = textwrap.dedent(
    """
    import json
    from vncomply.worker import celery_app
    celery_app.loader.import_default_modules()
    from vncomply.deadlines.engine import handlers
    print(json.dumps({
        "tasks": sorted(n for n in celery_app.tasks if n.startswith("vncomply.")),
        "handlers": sorted(h.name for h in handlers()),
    }))
    """
)

# Everything: every module of the package imported, then the same two lists.
_EVERYTHING = textwrap.dedent(
    """
    import importlib, json, pkgutil
    import vncomply
    for m in pkgutil.walk_packages(vncomply.__path__, "vncomply."):
        if m.name.startswith("vncomply.embedded"):
            continue
        importlib.import_module(m.name)
    from vncomply.worker import celery_app
    from vncomply.deadlines import engine
    print(json.dumps({
        "tasks": sorted(n for n in celery_app.tasks if n.startswith("vncomply.")),
        "handlers": sorted(engine._HANDLERS),
    }))
    """
)


def _run(code: str) -> dict[str, list[str]]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_worker_loads_every_task_and_deadline_handler() -> None:
    worker, everything = _run(_WORKER_VIEW), _run(_EVERYTHING)
    assert worker["handlers"], "no deadline handler at all: the derivation is broken"
    assert set(everything["tasks"]) - set(worker["tasks"]) == set(), "tasks the worker would not load"
    assert set(everything["handlers"]) - set(worker["handlers"]) == set(), "handlers the worker misses"


def test_beat_schedules_only_tasks_the_worker_knows() -> None:
    from vncomply.worker import beat_schedule

    worker = _run(_WORKER_VIEW)
    scheduled = {entry["task"] for entry in beat_schedule(5.0).values()}
    assert scheduled <= set(worker["tasks"])


def test_every_domain_package_is_listed_once() -> None:
    """A package with a DOMAIN declaration that the registry does not list would be dead code."""
    assert len(set(registry.DOMAINS)) == len(registry.DOMAINS)
    declared = set()
    for m in pkgutil.iter_modules(vncomply.__path__):
        if m.ispkg:
            module = __import__(f"vncomply.{m.name}", fromlist=["DOMAIN"])
            if isinstance(getattr(module, "DOMAIN", None), Domain):
                declared.add(m.name)
    assert declared == set(registry.DOMAINS)


def test_routers_tags_and_events_are_derived() -> None:
    from vncomply.app import create_app

    app = create_app()
    used = {t for route in app.routes for t in getattr(route, "tags", [])}
    declared = {t["name"] for t in registry.openapi_tags()}
    assert used <= declared, f"routes tagged with undeclared tags: {used - declared}"
    events = registry.event_types()
    assert "takedown.received" in events
    assert all(e.count(".") == 1 for e in events)
