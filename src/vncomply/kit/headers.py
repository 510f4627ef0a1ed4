"""Security headers on every response, as the outermost pure-ASGI layer: errors, /metrics, /docs, the
413 of the body limit and the permission check's fast path get them too, since all of them leave
through here.

Every response is an API answer to an authenticated caller (or a page no one should frame), so one
fixed set fits all, the OWASP REST set:

- ``Cache-Control: no-store``: identities, search, bulk results and disclosure packages carry
  personal data; no shared or browser cache may keep any of them. A response that sets its own
  ``Cache-Control`` keeps it.
- ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer``;
- ``X-Frame-Options: DENY`` and CSP ``frame-ancestors 'none'``: the docs pages are never framed
  (click-jacking an officer's session); on JSON they cost nothing and need no per-path decision. A
  response with a policy of its own keeps it: the docs pages' (which forbids framing as well).

Cheap on the hot path: one precomputed list appended to the headers; the only scan is for a
``cache-control`` or ``content-security-policy`` the app set itself.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

NO_STORE = (b"cache-control", b"no-store")
NO_FRAMING_CSP = (b"content-security-policy", b"frame-ancestors 'none'")
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
# What to add, by (the response set its own cache-control, its own CSP): precomputed. A page with a
# policy of its own (the docs pages, kit/docs_pages.py, which forbids framing too) keeps it alone.
_ADD = {
    (own_cache, own_csp): (
        *SECURITY_HEADERS,
        *(() if own_csp else (NO_FRAMING_CSP,)),
        *(() if own_cache else (NO_STORE,)),
    )
    for own_cache in (False, True)
    for own_csp in (False, True)
}


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                own_cache = own_csp = False
                for name, _ in headers:
                    lower = name.lower()
                    own_cache = own_cache or lower == b"cache-control"
                    own_csp = own_csp or lower == b"content-security-policy"
                headers.extend(_ADD[own_cache, own_csp])
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_wrapper)
