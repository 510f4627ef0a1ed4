"""Webhook delivery throughput: outbox → deliveries → signed POSTs to a local receiver, beside
its limit references measured in the same run.

The receiver is a minimal keep-alive HTTP/1.1 server in a separate process (so it does not share
the senders' event loops); it answers 200 and counts. The figure is the production code path: worker
processes (like a Celery worker's prefork children) each running ``delivery.run_cycle()`` ticks back
to back (fan-out, fair claim with SKIP LOCKED and leases, SSRF check, sign, POST, group-commit
record), until the round's events are all delivered. The references, on the same receiver with the
same concurrency and number of requests, are run interleaved with it, round by round:

1. the ceiling: signed keep-alive HTTP/1.1 straight on asyncio streams, one process;
2. vncomply (``--processes`` workers);
3. one bare aiohttp.ClientSession (the client the sender uses) and one bare httpx.AsyncClient
   (the client it used before), no database.

The medians over ``--rounds`` are printed with the ratios.

    .venv/bin/python bench/events/bench_delivery.py --events 10000 --rounds 3 [--processes 2]

With ``VNCOMPLY_DATABASE_URL`` unset it creates and migrates the scratch database
``vnc_bench_events`` itself (``common.scratch_database``); set, that database is used as it is.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import resource
import statistics
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


def _worker(go: Any, results: Any, delivered: Any, concurrency: int) -> None:
    """One worker process: on each command, beat ticks back to back until the round is delivered."""
    asyncio.run(_worker_main(go, results, delivered, concurrency))


async def _worker_main(go: Any, results: Any, delivered: Any, concurrency: int) -> None:
    from vncomply.events import delivery

    while True:
        target = await asyncio.to_thread(go.get)
        if target is None:
            return
        mine = failed = 0
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        while delivered.value < target:
            # A tick as the Celery task runs it (run_cycle's own defaults), with the bench's lanes.
            sender = delivery.Sender(concurrency)
            try:
                st = await delivery.run_cycle(sender=sender)
            finally:
                await sender.aclose()
            with delivered.get_lock():
                delivered.value += st.delivered
            mine += st.delivered
            failed += st.failed_attempts
            if failed:
                break
            if st.sent == 0 and st.fanned_out == 0:
                await asyncio.sleep(0.005)  # the rest is in another worker's hands
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
        results.put((mine, failed, cpu))


async def _seed(n_events: int, url: str) -> None:
    from vncomply.kit.db import dispose_engine

    await setup(n_events, url)
    await dispose_engine()


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def run(a: argparse.Namespace) -> dict[str, Any]:
    ctx = mp.get_context("spawn")  # workers open their own engines; nothing inherited
    port_q: Any = ctx.Queue()
    count: Any = ctx.Value("l", 0)
    receiver = ctx.Process(target=_receiver, args=(port_q, count, a.latency_ms / 1000), daemon=True)
    receiver.start()
    port = port_q.get(timeout=10)
    url = f"http://127.0.0.1:{port}/hook"
    go: Any = ctx.Queue()
    results: Any = ctx.Queue()
    delivered: Any = ctx.Value("l", 0)
    workers = [
        ctx.Process(target=_worker, args=(go, results, delivered, a.concurrency), daemon=True)
        for _ in range(a.processes)
    ]
    for w in workers:
        w.start()
    n, c = a.events, a.concurrency
    n_httpx = min(n, a.httpx_requests)
    rounds: list[dict[str, float]] = []
    try:
        for r in range(a.rounds):
            asyncio.run(_seed(n, url))
            streams = asyncio.run(common.streams_sender(port, n, c))
            before = count.value
            with delivered.get_lock():
                delivered.value = 0
            t0 = time.perf_counter()
            for _ in workers:
                go.put(n)
            outs = [results.get(timeout=600) for _ in workers]
            elapsed = time.perf_counter() - t0
            got = sum(o[0] for o in outs)
            failed = sum(o[1] for o in outs)
            cpu = sum(o[2] for o in outs)
            if failed or got != n:
                raise SystemExit(f"round {r}: {got} of {n} delivered, {failed} failed attempts")
            received = count.value - before
            bare_aiohttp = asyncio.run(common.aiohttp_sender(port, n, c))
            bare_httpx = asyncio.run(common.httpx_sender(port, n_httpx, c))
            row = {
                "round": r + 1,
                "asyncio_streams_per_s": round(streams, 1),
                "deliveries_per_s": round(got / elapsed, 1),
                "received": received,
                "worker_cpu_us_per_delivery": round(1e6 * cpu / got, 1),
                "bare_aiohttp_per_s": round(bare_aiohttp, 1),
                "bare_httpx_per_s": round(bare_httpx, 1),
                "ratio": round(got / elapsed / streams, 3),
                "load_1m": round(os.getloadavg()[0], 2),
            }
            print(row, flush=True)
            rounds.append(row)
    finally:
        for _ in workers:
            go.put(None)
        for w in workers:
            w.join(timeout=10)
        receiver.terminate()

    def med(key: str) -> float:
        return _median([row[key] for row in rounds])

    return {
        "events": n,
        "concurrency": c,
        "processes": a.processes,
        "receiver_latency_ms": a.latency_ms,
        "rounds": len(rounds),
        "deliveries_per_s": med("deliveries_per_s"),
        "asyncio_streams_per_s": med("asyncio_streams_per_s"),
        "bare_aiohttp_per_s": med("bare_aiohttp_per_s"),
        "bare_httpx_per_s": med("bare_httpx_per_s"),
        "median_ratio": med("ratio"),
        "worker_cpu_us_per_delivery": med("worker_cpu_us_per_delivery"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--events", type=int, default=10000, help="deliveries per round (one endpoint)")
    ap.add_argument("--concurrency", type=int, default=50, help="lanes per worker, connections per reference")
    ap.add_argument("--processes", type=int, default=1, help="worker processes sending")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are reported")
    ap.add_argument("--httpx-requests", type=int, default=2000, help="requests for the slow httpx one")
    ap.add_argument("--latency-ms", type=float, default=0.0, help="receiver delay per request")
    a = ap.parse_args()
    common.scratch_database("vnc_bench_events")
    result = run(a)
    print(result)
    rate = result["deliveries_per_s"]
    print(
        f"deliveries/s (median of {result['rounds']}): {rate} with {a.processes} worker process(es) "
        f"x {a.concurrency} lanes (cores: {len(os.sched_getaffinity(0))}); median per-round ratio to the "
        f"streams ceiling {result['median_ratio']}x"
    )
    common.beside("webhook delivery vs asyncio streams", rate, result["asyncio_streams_per_s"], "/s", 0.25)
    common.against("webhook delivery vs bare aiohttp", rate, result["bare_aiohttp_per_s"], "/s")
    common.against("webhook delivery vs bare httpx", rate, result["bare_httpx_per_s"], "/s")
    streams = result["asyncio_streams_per_s"]
    common.against("bare aiohttp vs asyncio streams", result["bare_aiohttp_per_s"], streams, "/s")
    common.against("bare httpx vs asyncio streams", result["bare_httpx_per_s"], streams, "/s")


if __name__ == "__main__":
    main()
