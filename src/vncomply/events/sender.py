"""Sending claimed deliveries: signed POSTs through bounded lanes, to the address the SSRF guard
checked, without redirects, reading at most ``MAX_RESPONSE_BYTES`` of each answer.

Jobs are taken strictly in the order given (``delivery.claim`` sizes each row's lease to its place in
that order), and each outcome is handed to ``done`` before the lane takes its next job, so at most one
sent-but-unrecorded delivery exists per lane.
"""

from __future__ import annotations

import asyncio
import ssl
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from vncomply.config import get_settings
from vncomply.events import signing, ssrf
from vncomply.kit import clock

CONCURRENCY = 50
MAX_RESPONSE_BYTES = 64 * 1024

_ssl: ssl.SSLContext | None = None


def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~40 ms; do it once per process, not per tick.
    global _ssl
    if _ssl is None:
        _ssl = httpx.create_ssl_context()
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


class Sender:
    """Sends jobs through ``concurrency`` lanes. Each lane sends one request at a time and keeps
    its own keep-alive client per host: httpcore's shared pool scans every connection on every
    request (quadratic under load), and per-host clients keep TLS SNI and pooled connections from
    mixing hosts that share an address. The SSRF check runs once per URL per batch."""

    def __init__(self, concurrency: int = CONCURRENCY) -> None:
        self.concurrency = concurrency
        self._lanes: list[dict[str, httpx.AsyncClient]] = [{} for _ in range(concurrency)]
        self.timeout = get_settings().webhook_timeout_seconds

    def _client(self, lane: dict[str, httpx.AsyncClient], key: str) -> httpx.AsyncClient:
        c = lane.get(key)
        if c is None:
            c = lane[key] = httpx.AsyncClient(
                timeout=self.timeout,
                verify=_ssl_context(),
                follow_redirects=False,
                trust_env=False,
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                headers={"user-agent": "vncomply-webhooks/1"},
            )
        return c

    async def aclose(self) -> None:
        for lane in self._lanes:
            for c in lane.values():
                await c.aclose()
            lane.clear()

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

        async def lane_loop(lane: dict[str, httpx.AsyncClient]) -> None:
            for job in todo:  # a shared iterator: each lane takes the next job when free
                if job.refused is not None:
                    outcome = Outcome(job, ok=False, error=job.refused)
                elif job.endpoint_id in silent:
                    outcome = Outcome(job, ok=False, error=SILENT)
                else:
                    outcome = await self._send(lane, job, checks[job.url])
                    if outcome.timed_out:
                        silent.add(job.endpoint_id)
                results.append(outcome)
                if done is not None:
                    await done(outcome)

        try:
            async with asyncio.TaskGroup() as tg:
                for lane in self._lanes[: len(jobs)]:
                    tg.create_task(lane_loop(lane))
        finally:
            for c in checks.values():
                # A check whose jobs were all skipped was never awaited: consume its result.
                if c.done() and not c.cancelled():
                    c.exception()
                c.cancel()
        return results

    async def _send(
        self, lane: dict[str, httpx.AsyncClient], job: Job, check: asyncio.Task[ssrf.Target]
    ) -> Outcome:
        # One bound for the whole job, the shared DNS check included: the claim's lease relies on it.
        try:
            async with asyncio.timeout(self.timeout + 1):
                try:
                    target = await asyncio.shield(check)
                except ssrf.UnsafeUrl as exc:
                    return Outcome(job, ok=False, error=f"refused by the SSRF guard: {exc}")
                status = await self._post(lane, job, target)
        except (httpx.TimeoutException, TimeoutError) as exc:
            return Outcome(job, ok=False, error=f"timed out: {type(exc).__name__}", timed_out=True)
        except (httpx.HTTPError, OSError) as exc:
            return Outcome(job, ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
        ok = 200 <= status < 300
        return Outcome(job, ok=ok, status_code=status, error=None if ok else f"HTTP {status}")

    async def _post(self, lane: dict[str, httpx.AsyncClient], job: Job, target: ssrf.Target) -> int:
        url = httpx.URL(job.url)
        hdrs = signing.headers(job.secrets, job.msg_id, int(clock.now().timestamp()), job.body)
        # Connect to the checked address; the name stays in Host (and in SNI for https).
        hdrs["host"] = url.netloc.decode("ascii")
        ext: dict[str, Any] = {}
        if target.scheme == "https":
            ext["sni_hostname"] = target.host
        client = self._client(lane, f"{target.scheme}://{target.host}:{target.port}")
        req = client.build_request(
            "POST", url.copy_with(host=target.ip), content=job.body, headers=hdrs, extensions=ext
        )
        resp = await client.send(req, stream=True)
        try:
            read = 0
            async for chunk in resp.aiter_raw():
                read += len(chunk)
                if read > MAX_RESPONSE_BYTES:
                    break
        finally:
            await resp.aclose()
        return resp.status_code
