"""Sending claimed deliveries: signed POSTs through bounded lanes, to the address the SSRF guard
checked, without redirects, reading at most ``MAX_RESPONSE_BYTES`` of each answer.

Jobs are taken strictly in the order given (``delivery.claim`` sizes each row's lease to its place in
that order), and each outcome is handed to ``done`` before the lane takes its next job, so at most one
sent-but-unrecorded delivery exists per lane.

The HTTP client is aiohttp: on this path a bare aiohttp session sends ~20x a bare httpx client, and
the whole delivery path went from ~600 to ~1,400-1,900 deliveries/s (bench/events/bench_delivery.py
prints both bare clients beside the streams ceiling; bench/RESULTS.md, Events).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import aiohttp
import certifi
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from vncomply.config import get_settings
from vncomply.events import signing, ssrf
from vncomply.kit import clock

CONCURRENCY = 50
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "vncomply-webhooks/1"

_ssl: ssl.SSLContext | None = None


def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~40 ms; do it once per process, not per tick. The certifi bundle,
    # as httpx used before: the trust store does not depend on the image's CA package.
    global _ssl
    if _ssl is None:
        _ssl = ssl.create_default_context(cafile=certifi.where())
    return _ssl


@dataclass
class Job:
    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    attempts: int
    url: str
    msg_id: str
    body: bytes
    secrets: list[str]
    # Set when the job must not be sent (e.g. the signing secret cannot be decrypted): the attempt
    # fails with this reason and is retried on the normal schedule.
    refused: str | None = None


@dataclass
class Outcome:
    job: Job
    ok: bool
    status_code: int | None = None
    error: str | None = None
    # No answer within the timeout: the endpoint's other jobs in this batch are not sent.
    timed_out: bool = False


SILENT = "not sent: the endpoint did not answer another delivery of this batch in time"
Done = Callable[[Outcome], Awaitable[None]]


class PinnedResolver(AbstractResolver):
    """The resolver of one target's connector: it answers the address the SSRF guard checked, and
    only for the checked host, so a connection can go nowhere else — however the name resolves
    by the time the connection is opened (DNS rebinding). The URL keeps its name, so the Host header
    and, for https, TLS SNI and certificate verification use the name."""

    def __init__(self, host: str, ip: str) -> None:
        self.host = host
        self.ip = ip
        self._family = socket.AF_INET6 if ":" in ip else socket.AF_INET

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host != self.host:
            raise OSError(f"{host} was not checked by the SSRF guard")
        return [
            {
                "hostname": host,
                "host": self.ip,
                "port": port,
                "family": self._family,
                "proto": socket.IPPROTO_TCP,
                "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            }
        ]

    async def close(self) -> None:
        return None


class Sender:
    """Sends jobs through ``concurrency`` lanes; each lane sends one request at a time.

    One keep-alive pool per checked target — (scheme, host, port, checked address) — shared by the
    lanes: a pooled connection is always to the address checked for its host, pools never mix
    hosts that share an address (TLS SNI), and a name that now resolves elsewhere gets a new pool
    (the old one is not reused). The SSRF check runs once per URL per batch."""

    def __init__(self, concurrency: int = CONCURRENCY) -> None:
        self.concurrency = concurrency
        self.timeout = get_settings().webhook_timeout_seconds
        self._sessions: dict[tuple[str, str, int, str], aiohttp.ClientSession] = {}
        self._urls: dict[str, URL] = {}

    def _session(self, target: ssrf.Target, url: URL) -> aiohttp.ClientSession:
        key = (target.scheme, target.host, target.port, target.ip)
        s = self._sessions.get(key)
        if s is None:
            connector = aiohttp.TCPConnector(
                resolver=PinnedResolver(url.raw_host or "", target.ip),
                use_dns_cache=False,  # every new connection asks the pinned resolver
                limit=self.concurrency,  # the lanes bound it anyway
                ssl=_ssl_context(),
            )
            s = self._sessions[key] = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                # Raw bytes only: identity encoding, nothing decompressed (the body cap counts what
                # the receiver sends, so a compressed answer cannot inflate past it). Set here rather
                # than through skip_auto_headers, which aiohttp rebuilds on every request (~5 % of
                # the sender's CPU).
                headers={"user-agent": USER_AGENT, "accept-encoding": "identity"},
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),  # receivers' cookies are not kept
                trust_env=False,  # no proxy from the environment
            )
        return s

    async def aclose(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        for s in sessions:
            await s.close()

    async def send_all(self, jobs: Sequence[Job], done: Done | None = None) -> list[Outcome]:
        """Send ``jobs`` in order; ``done`` (awaited) sees each outcome as it completes."""
        checks: dict[str, asyncio.Task[ssrf.Target]] = {}
        for j in jobs:
            if j.url not in checks and j.refused is None:
                checks[j.url] = asyncio.ensure_future(ssrf.check(j.url))
        # Endpoints that did not answer in time: a receiver that accepts and hangs costs one
        # timeout per lane it holds, not one per delivery queued for it.
        silent: set[uuid.UUID] = set()
        results: list[Outcome] = []
        todo = iter(jobs)

        async def lane_loop() -> None:
            for job in todo:  # a shared iterator: each lane takes the next job when free
                if job.refused is not None:
                    outcome = Outcome(job, ok=False, error=job.refused)
                elif job.endpoint_id in silent:
                    outcome = Outcome(job, ok=False, error=SILENT)
                else:
                    outcome = await self._send(job, checks[job.url])
                    if outcome.timed_out:
                        silent.add(job.endpoint_id)
                results.append(outcome)
                if done is not None:
                    await done(outcome)

        try:
            async with asyncio.TaskGroup() as tg:
                for _ in range(min(self.concurrency, len(jobs))):
                    tg.create_task(lane_loop())
        finally:
            for c in checks.values():
                # A check whose jobs were all skipped was never awaited: consume its result.
                if c.done() and not c.cancelled():
                    c.exception()
                c.cancel()
        return results

    async def _send(self, job: Job, check: asyncio.Task[ssrf.Target]) -> Outcome:
        # One bound for the whole job, the shared DNS check included: the claim's lease relies on it.
        try:
            async with asyncio.timeout(self.timeout + 1):
                try:
                    # Shielded: other lanes wait on the same check. Once done, no wrapper needed.
                    target = check.result() if check.done() else await asyncio.shield(check)
                except ssrf.UnsafeUrl as exc:
                    return Outcome(job, ok=False, error=f"refused by the SSRF guard: {exc}")
                status = await self._post(job, target)
        except TimeoutError as exc:  # aiohttp's timeouts are TimeoutErrors too
            return Outcome(job, ok=False, error=f"timed out: {type(exc).__name__}", timed_out=True)
        except (aiohttp.ClientError, OSError) as exc:
            return Outcome(job, ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
        ok = 200 <= status < 300
        return Outcome(job, ok=ok, status_code=status, error=None if ok else f"HTTP {status}")

    async def _post(self, job: Job, target: ssrf.Target) -> int:
        url = self._urls.get(job.url)
        if url is None:
            url = self._urls[job.url] = URL(job.url)
        hdrs = signing.headers(job.secrets, job.msg_id, int(clock.now().timestamp()), job.body)
        session = self._session(target, url)
        async with session.post(url, data=job.body, headers=hdrs, allow_redirects=False) as resp:
            read = 0
            while read <= MAX_RESPONSE_BYTES:
                chunk = await resp.content.read(MAX_RESPONSE_BYTES + 1 - read)
                if not chunk:
                    break
                read += len(chunk)
            if read > MAX_RESPONSE_BYTES:
                # Past the cap: drop the connection instead of draining the rest into the pool.
                resp.close()
            return resp.status
