from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from tests.events.conftest import Receiver
from tests.factories import auth, platform_keys

from vncomply.events import outbox, tasks


async def test_dispatch_task_wrapper(client, db: AsyncSession, receiver: Receiver):
    assert tasks.dispatch.name == "vncomply.events.dispatch"
    keys = await platform_keys(db)
    r = await client.post("/v1/webhook-endpoints", headers=auth(keys.platform), json={"url": receiver.url})
    assert r.status_code == 201
    await outbox.emit(db, keys.platform_id, "filing.due_soon", {"due_at": "2026-12-31"})
    await db.flush()
    assert await tasks._dispatch() == 1
    assert len(receiver.requests) == 1
