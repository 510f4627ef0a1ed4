"""SMS providers for one-time codes, chosen by ``VNCOMPLY_SMS_PROVIDER``.

``console`` is for development: it logs that a code was sent and keeps the last messages in
``ConsoleSms.sent`` (tests read codes from there). It does log the code itself, which is only
acceptable because a dev code protects nothing; it is refused outside dev/test.
``http`` POSTs JSON ``{"to", "text"}`` with a bearer token to a gateway, retried with backoff.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import ClassVar, Protocol

import httpx

from vncomply.config import Env, SmsProvider, get_settings
from vncomply.kit.errors import ServiceUnavailable
from vncomply.kit.logs import get_logger

log = get_logger("vncomply.sms")


class Sms(Protocol):
    async def send(self, to_e164: str, text: str) -> None: ...


class ConsoleSms:
    sent: ClassVar[deque[tuple[str, str]]] = deque(maxlen=100)

    async def send(self, to_e164: str, text: str) -> None:
        if get_settings().env is Env.prod:
            raise ServiceUnavailable("The console SMS provider is for development only.")
        self.sent.append((to_e164, text))
        # The message text (with the dev code) but never the number.
        log.info("sms.console", message=text)


class HttpSms:
    ATTEMPTS = 3

    def __init__(self, url: str, token: str | None, timeout: float = 5.0) -> None:
        self.url = url
        self.token = token
        self.timeout = timeout

    async def send(self, to_e164: str, text: str) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        last = "no attempt"
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            for attempt in range(self.ATTEMPTS):
                if attempt:
                    await asyncio.sleep(0.2 * 2**attempt)
                try:
                    r = await client.post(self.url, json={"to": to_e164, "text": text}, headers=headers)
                except httpx.HTTPError as exc:
                    last = type(exc).__name__
                    continue
                if r.status_code < 300:
                    return
                last = f"HTTP {r.status_code}"
                if 400 <= r.status_code < 500 and r.status_code != 429:
                    break  # the gateway refused the message; retrying will not help
        log.warning("sms.http_failed", reason=last)
        raise ServiceUnavailable(
            "The SMS gateway did not accept the message; nothing was saved, retry later."
        )


def provider() -> Sms:
    s = get_settings()
    if s.sms_provider is SmsProvider.http:
        if not s.sms_http_url:
            raise ServiceUnavailable("VNCOMPLY_SMS_HTTP_URL is not configured.")
        return HttpSms(s.sms_http_url, s.sms_http_token)
    return ConsoleSms()
