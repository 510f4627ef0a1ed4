"""Load and observation for the fault tests: permission checks fired continuously from a thread
(every answer recorded with its time and status), a webhook receiver that can be slow, and a
watcher that notes when transitions and deliveries happen."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


@dataclass(frozen=True)
class Answer:
    started: float  # time.monotonic()
    finished: float
    status: int  # 0: no HTTP answer (connection refused, timeout)
    problem: bool  # application/problem+json
    error: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


IDENTITY = {
    "full_name": "Nguyễn Văn An",
    "date_of_birth": "1990-05-17",
    "phone_number": "0912345678",
    "verification": {"method": "sms_otp", "verified_at": "2026-01-01T00:00:00Z"},
}


@dataclass
class CheckLoad:
    """``concurrency`` loops of GET /v1/accounts/{id}/permissions until stopped — or, with
    ``writes``, of PUT /v1/identities/{id} (a transaction through the ORM session)."""

    base: str
    key: str
    accounts: Sequence[str]
    concurrency: int = 4
    writes: bool = False
    timeout: float = 15.0
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> CheckLoad:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 5)

    async def _run(self) -> None:
        ids = itertools.cycle(self.accounts)
        headers = {"Authorization": f"Bearer {self.key}"}
        async with httpx.AsyncClient(base_url=self.base, timeout=self.timeout, headers=headers) as c:

            async def loop() -> None:
                while not self._stop.is_set():
                    t0 = time.monotonic()
                    try:
                        account = next(ids)
                        if self.writes:
                            r = await c.put(f"/v1/identities/{account}", json=IDENTITY)
                        else:
                            r = await c.get(f"/v1/accounts/{account}/permissions")
                        ctype = r.headers.get("content-type", "")
                        a = Answer(t0, time.monotonic(), r.status_code, "problem+json" in ctype)
                    except httpx.HTTPError as exc:
                        a = Answer(t0, time.monotonic(), 0, False, type(exc).__name__)
                        await asyncio.sleep(0.05)  # refused at once: do not spin
                    self.answers.append(a)

            await asyncio.gather(*(loop() for _ in range(self.concurrency)))

    def statuses(self) -> Counter[int]:
        return Counter(a.status for a in self.answers)

    def summary(self) -> str:
        s = self.statuses()
        what = "writes" if self.writes else "checks"
        return f"{len(self.answers)} {what}, statuses {dict(sorted(s.items()))}"

    def unanswered_problems(self) -> list[Answer]:
        """Non-200 answers that are not a 503 problem (a 500, a bare error, no answer)."""
        return [a for a in self.answers if not a.ok and not (a.status == 503 and a.problem)]

    def last_failure_after(self, t: float) -> float | None:
        """When the last non-200 answer to a request started after ``t`` came back."""
        failed = [a.finished for a in self.answers if a.started >= t and not a.ok]
        return max(failed) if failed else None


@contextlib.contextmanager
def checking(load: CheckLoad) -> Iterator[CheckLoad]:
    load.start()
    try:
        yield load
    finally:
        load.stop()


@dataclass
class Receiver:
    """A webhook receiver on loopback; answers 200 after ``delay`` seconds."""

    delay: float = 0.0
    port: int = 0
    arrivals: list[tuple[str, float]] = field(default_factory=list)  # (webhook-id, when)
    in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def ids(self) -> Counter[str]:
        with self.lock:
            return Counter(i for i, _ in self.arrivals)

    def last_arrival(self) -> float | None:
        with self.lock:
            return self.arrivals[-1][1] if self.arrivals else None

    def arrivals_after(self, t: float) -> list[float]:
        with self.lock:
            return [when for _, when in self.arrivals if when > t]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # 50 sender lanes connect at once; the default backlog is 5

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a sender killed mid-request: its broken pipe is the point of the test


@contextlib.contextmanager
def receiving(delay: float = 0.0) -> Iterator[Receiver]:
    rec = Receiver(delay)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the sender's lanes expect

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            del body
            with rec.lock:
                rec.arrivals.append((self.headers.get("webhook-id", ""), time.monotonic()))
                rec.in_flight += 1
            try:
                if rec.delay:
                    time.sleep(rec.delay)
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            finally:
                with rec.lock:
                    rec.in_flight -= 1

        def log_message(self, *args: object) -> None:
            pass

    server = _QuietServer(("127.0.0.1", 0), Handler)
    rec.port = int(server.server_address[1])
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Watcher:
    """Polls a counter (e.g. transitions committed) and remembers when it moved."""

    read: Callable[[], int]
    every: float = 0.1
    samples: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):  # the database may be the thing that is down
                self.samples.append((time.monotonic(), self.read()))
            self._stop.wait(self.every)

    def start(self) -> Watcher:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def value_at(self, t: float) -> int:
        before = [v for when, v in self.samples if when <= t]
        return before[-1] if before else 0

    def first_rise_after(self, t: float) -> float | None:
        """When the counter first exceeded its value at ``t``."""
        base = self.value_at(t)
        for when, v in self.samples:
            if when > t and v > base:
                return when
        return None
