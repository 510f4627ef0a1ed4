"""Every domain's deadline module has the same shape (docs/deadlines.md): ``HANDLER_NAME``,
``next_action(row)``, ``transition(session, row, now)``, ``stuck(now)`` where the domain has stuck
rows, and ``handler = register(HANDLER_NAME, Model, transition, …)``."""

from __future__ import annotations

import importlib

import pytest

from vncomply.deadlines.engine import DeadlineHandler, get_handler
from vncomply.registry import deadline_modules

# Handler names are stored (deadline_sweeps rows, metrics labels): they never change.
NAMES = {
    "vncomply.takedowns.deadline": "takedowns.clock",
    "vncomply.blocks.deadline": "blocks.account_block",
    "vncomply.disclosures.deadline": "disclosures.clock",
    "vncomply.filings.deadline": "filings.clock",
    "vncomply.breaches.deadline": "breaches.clock",
}


def test_every_deadline_module_is_known_here() -> None:
    assert set(deadline_modules()) == set(NAMES)


@pytest.mark.parametrize("module_name", sorted(NAMES))
def test_deadline_module_shape(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert NAMES[module_name] == module.HANDLER_NAME
    assert callable(module.next_action)
    handler = module.handler
    assert isinstance(handler, DeadlineHandler)
    assert get_handler(module.HANDLER_NAME) is handler
    assert handler.name == module.HANDLER_NAME
    assert handler.transition is module.transition
    assert handler.stuck is module.stuck
