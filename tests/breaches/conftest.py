from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fresh_sweep_throttles() -> None:
    """The engine throttles its stuck-row pass and idle bookkeeping per process; tests move the
    clock back and forth, so each starts with both due."""
    from vncomply.deadlines import engine

    engine._last_repair.clear()
    engine._last_record = None
