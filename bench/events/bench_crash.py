"""How many events a receiver gets twice when a delivery worker is killed mid-batch.

A worker process sends to a receiver that answers after ``--latency-ms``; once the receiver has
answered ``--kill-after`` requests the worker is killed with SIGKILL (no cleanup runs). A successor
(this process) then moves the clock past every lease and delivers the rest. The receiver counts
requests per ``webhook-id``; duplicates are the ids it saw more than once.

    .venv/bin/python bench/events/bench_crash.py --events 600 --latency-ms 2000 --kill-after 300

(with ``VNCOMPLY_DATABASE_URL`` unset it creates and migrates ``vnc_bench_events`` itself)
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import signal
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("VNCOMPLY_WEBHOOK_ALLOW_PRIVATE", "127.0.0.1/32")
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/common.py

import common
from bench_delivery import setup


def _receiver(port_q: Any, ids: Any, answered: Any, latency: float) -> None:
    """Records each request's webhook-id as it arrives and answers 200 after ``latency``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length, msg_id = 0, b""
                for line in head.split(b"\r\n"):
                    low = line.lower()
                    if low.startswith(b"content-length:"):
                        length = int(line[15:])
                    elif low.startswith(b"webhook-id:"):
                        msg_id = line[11:].strip()
                if length:
                    await reader.readexactly(length)
                ids.put(msg_id.decode())  # received: a real receiver acts on it from here
                await asyncio.sleep(latency)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
                with answered.get_lock():
                    answered.value += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        port_q.put(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def _worker() -> None:
    from vncomply.events import delivery

    async def loop() -> None:
        while True:
            await delivery.run_cycle(max_batches=1000)

    asyncio.run(loop())


async def _successor() -> int:
    from vncomply.events import delivery
    from vncomply.kit import clock
    from vncomply.kit.db import dispose_engine

    # Past any lease (the longest, for the 500th row of 50 lanes with a 60 s timeout, is ~11 min).
    clock.advance(timedelta(hours=1))
    sent = 0
    while (st := await delivery.run_cycle(max_batches=1000)).sent:
        sent += st.sent
    await dispose_engine()
    return sent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--events", type=int, default=600)
    ap.add_argument("--latency-ms", type=float, default=2000)
    ap.add_argument("--kill-after", type=int, default=300, help="answered requests before the kill")
    a = ap.parse_args()
    common.scratch_database("vnc_bench_events")
    spawn = mp.get_context("spawn")  # the worker builds its own engine and event loop
    port_q: Any = spawn.Queue()
    ids: Any = spawn.Queue()
    answered: Any = spawn.Value("l", 0)
    rx = spawn.Process(target=_receiver, args=(port_q, ids, answered, a.latency_ms / 1000), daemon=True)
    rx.start()
    port = port_q.get(timeout=10)

    async def prepare() -> None:
        from vncomply.kit.db import dispose_engine

        await setup(a.events, f"http://127.0.0.1:{port}/hook")
        await dispose_engine()

    asyncio.run(prepare())
    worker = spawn.Process(target=_worker, daemon=True)
    worker.start()
    while answered.value < a.kill_after:
        time.sleep(0.05)
    assert worker.pid is not None
    os.kill(worker.pid, signal.SIGKILL)
    worker.join()
    killed_at = answered.value
    resent = asyncio.run(_successor())
    time.sleep(0.5)  # let the receiver's last ids reach the queue
    seen: Counter[str] = Counter()
    while not ids.empty():
        seen[ids.get()] += 1
    rx.terminate()
    twice = sum(1 for n in seen.values() if n > 1)
    print(
        {
            "events": a.events,
            "answered_before_kill": killed_at,
            "sent_by_successor": resent,
            "distinct_received": len(seen),
            "received_twice": twice,
        }
    )


if __name__ == "__main__":
    main()
