"""Webhook delivery throughput: outbox → deliveries → signed POSTs to a local receiver.

The receiver is a minimal keep-alive HTTP/1.1 server in a separate process (so it does not share
the sender's event loop); it answers 200 and counts. The sender is the production code path
(``delivery.run_cycle``: fan-out, claim with SKIP LOCKED, SSRF check, sign, POST, record).

    createdb -h 127.0.0.1 -U postgres vnc_bench_events
    VNCOMPLY_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/vnc_bench_events \
        .venv/bin/alembic upgrade head
    VNCOMPLY_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/vnc_bench_events \
        taskset -c 0,1 .venv/bin/python bench/events/bench_delivery.py --events 5000
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

os.environ.setdefault("VNCOMPLY_WEBHOOK_ALLOW_PRIVATE", "127.0.0.1/32")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import common


def _receiver(port_q: Any, count: Any, latency: float = 0.0) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                if latency:
                    await asyncio.sleep(latency)  # a receiver across a network
                with count.get_lock():
                    count.value += 1
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        port_q.put(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())


async def setup(n_events: int, url: str) -> uuid.UUID:
    from sqlalchemy import insert

    from vncomply.events import service
    from vncomply.events.models import Event, EventSequence
    from vncomply.events.schemas import EndpointCreate
    from vncomply.kit import clock
    from vncomply.kit.db import session_scope
    from vncomply.kit.principal import Principal, Role
    from vncomply.platforms import service as platforms
    from vncomply.platforms.schemas import PlatformCreate

    system = Principal(uuid.UUID(int=0), Role.admin, None, None)
    async with session_scope() as s:
        p = await platforms.create(
            s,
            system,
            PlatformCreate.model_validate(
                {
                    "name": f"bench-{uuid.uuid4().hex[:6]}",
                    "legal_name": "Bench Inc.",
                    "contact_point": {
                        "name": "B",
                        "email": "b@example.com",
                        "phone": "+84 24 0000 0000",
                        "address": "HN",
                    },
                    "monthly_vn_visits": 1_000_000,
                    "in_scope_since": date(2025, 1, 1).isoformat(),
                }
            ),
        )
        await s.flush()
        actor = Principal(uuid.uuid4(), Role.platform, p.id, None)
        await service.create_endpoint(s, actor, EndpointCreate(url=url, event_types=["*"]))
        now = clock.now()
        # Straight into the outbox (emit() per event would measure emit, not delivery).
        rows = [
            {
                "id": uuid.uuid4(),
                "platform_id": p.id,
                "seq": i + 1,
                "type": "takedown.received",
                "occurred_at": now,
                "data": {"order_id": str(uuid.uuid4()), "due_at": now.isoformat()},
            }
            for i in range(n_events)
        ]
        await s.execute(insert(Event), rows)
        await s.execute(insert(EventSequence).values(platform_id=p.id, last_seq=n_events))
    return p.id


async def run(n_events: int, concurrency: int, batch: int, latency_ms: float) -> dict[str, float]:
    from vncomply.events import delivery
    from vncomply.kit.db import dispose_engine

    port_q: Any = mp.Queue()
    count: Any = mp.Value("l", 0)
    proc = mp.Process(target=_receiver, args=(port_q, count, latency_ms / 1000), daemon=True)
    proc.start()
    port = port_q.get(timeout=10)
    await setup(n_events, f"http://127.0.0.1:{port}/hook")

    sender = delivery.Sender(concurrency)
    t0 = time.perf_counter()
    delivered = fanned = 0
    try:
        while delivered < n_events:
            st = await delivery.run_cycle(max_batches=1000, claim_batch=batch, sender=sender)
            fanned += st.fanned_out
            delivered += st.delivered
            if st.failed_attempts:
                raise SystemExit(f"{st.failed_attempts} failed attempts; is the receiver up?")
            if st.sent == 0 and st.fanned_out == 0:
                break
    finally:
        await sender.aclose()
    elapsed = time.perf_counter() - t0
    await dispose_engine()
    # References on the same receiver, same concurrency, same number of requests.
    streams = await common.streams_sender(port, n_events, concurrency)
    bare_httpx = await common.httpx_sender(port, n_events, concurrency)
    proc.terminate()
    return {
        "events": n_events,
        "concurrency": concurrency,
        "receiver_latency_ms": latency_ms,
        "fanned_out": fanned,
        "delivered": delivered,
        "received": count.value,
        "seconds": round(elapsed, 2),
        "deliveries_per_s": round(delivered / elapsed, 1),
        "asyncio_streams_per_s": round(streams, 1),
        "bare_httpx_per_s": round(bare_httpx, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--latency-ms", type=float, default=0.0, help="receiver delay per request")
    a = ap.parse_args()
    result = asyncio.run(run(a.events, a.concurrency, a.batch, a.latency_ms))
    print(result)
    print(f"deliveries/s: {result['deliveries_per_s']} (cores: {len(os.sched_getaffinity(0))})")
    rate = result["deliveries_per_s"]
    common.beside("webhook delivery vs asyncio streams", rate, result["asyncio_streams_per_s"], "/s", 0.25)
    common.beside("webhook delivery vs bare httpx", rate, result["bare_httpx_per_s"], "/s", 1.0)


if __name__ == "__main__":
    main()
