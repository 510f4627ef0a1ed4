"""No statement and no idle transaction waits for ever: both pools set server-side timeouts."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from vncomply.config import get_settings
from vncomply.kit import db as dbmod


@pytest.fixture
async def own_pools(test_database: str) -> AsyncIterator[None]:
    """The process's real engine and read pool (not the harness's one shared connection)."""
    dbmod.use_sessionmaker(None)
    await dbmod.dispose_engine()
    yield
    await dbmod.dispose_engine()


async def _show(setting: str) -> tuple[str, str]:
    async with dbmod.session_scope() as s:
        orm = (await s.execute(text(f"SHOW {setting}"))).scalar_one()
    (read,) = (await dbmod.read_rows(f"SHOW {setting}", {}))[0]
    return str(orm), str(read)


async def test_both_pools_set_statement_and_idle_transaction_timeouts(own_pools) -> None:
    assert await _show("statement_timeout") == ("30s", "5s")
    assert await _show("idle_in_transaction_session_timeout") == ("1min", "1min")


async def test_timeouts_follow_the_settings_and_keep_the_urls_own_options(own_pools, monkeypatch) -> None:
    s = get_settings()
    assert s.database_url
    monkeypatch.setattr(s, "database_url", s.database_url + "?options=-c%20lock_timeout%3D1234")
    monkeypatch.setattr(s, "db_statement_timeout_seconds", 12.5)
    monkeypatch.setattr(s, "db_read_statement_timeout_seconds", 2)
    monkeypatch.setattr(s, "db_idle_in_transaction_timeout_seconds", 7)
    assert await _show("statement_timeout") == ("12500ms", "2s")
    assert await _show("idle_in_transaction_session_timeout") == ("7s", "7s")
    assert await _show("lock_timeout") == ("1234ms", "1234ms")
