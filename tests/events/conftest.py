"""A real HTTP receiver on loopback and a signature check by the Standard Webhooks reference library
(``standardwebhooks``; deliberately not ``vncomply.events.signing``)."""

from __future__ import annotations

import hmac
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    port: int = 0
    requests: list[Received] = field(default_factory=list)
    # Status codes to answer, in order; 200 once exhausted.
    statuses: list[int] = field(default_factory=list)
    always: int | None = None
    # Accept the request and never answer (until `release` is set at teardown).
    hang: bool = False
    # Called with the request's number (1, 2, …) before answering, in the server's thread.
    on_request: Callable[[int], None] | None = None
    # The answer's body; a content-length to declare instead of its length (more than is sent: the
    # receiver then sends the body and hangs); a Location header (for a 3xx).
    body: bytes = b"ok"
    declared_length: int | None = None
    location: str | None = None
    # Where to listen (any 127/8 address works on loopback), HTTP/1.1 keep-alive, TLS.
    host: str = "127.0.0.1"
    keep_alive: bool = False
    tls: ssl.SSLContext | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}/hook"

    def next_status(self) -> int:
        with self.lock:
            if self.always is not None:
                return self.always
            return self.statuses.pop(0) if self.statuses else 200


def _start(rec: Receiver) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1" if rec.keep_alive else "HTTP/1.0"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with rec.lock:
                rec.requests.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                n = len(rec.requests)
            rec.arrived.set()
            if rec.on_request is not None:
                rec.on_request(n)
            if rec.hang:
                rec.release.wait()
                return
            status = rec.next_status()
            self.send_response(status)
            length = len(rec.body) if rec.declared_length is None else rec.declared_length
            self.send_header("content-length", str(length))
            if rec.location is not None:
                self.send_header("location", rec.location)
            self.end_headers()
            try:
                self.wfile.write(rec.body)
                self.wfile.flush()
            except OSError:  # the client hung up mid-body (the sender's response cap)
                return
            if length > len(rec.body):
                rec.release.wait()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((rec.host, rec.port), Handler)
    server.daemon_threads = True  # a hanging handler must not hold up teardown
    if rec.tls is not None:
        server.socket = rec.tls.wrap_socket(server.socket, server_side=True)
    rec.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    """Start as many receivers as a test needs: ``receivers(hang=True)``; ``port=`` and ``host=``
    choose where it listens."""
    started: list[tuple[Receiver, ThreadingHTTPServer]] = []

    def make(**kw: Any) -> Receiver:
        rec = Receiver(**kw)
        started.append((rec, _start(rec)))
        return rec

    yield make
    for rec, server in started:
        rec.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver(receivers: Callable[..., Receiver]) -> Receiver:
    return receivers()


def signature_valid(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Whether one of the `v1` signatures is the reference library's for this message. Its own
    `verify` also refuses timestamps more than 5 minutes from the wall clock, which tests that move
    vncomply's clock would trip; the signature itself is computed by the library either way."""
    assert secret.startswith("whsec_")
    at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
    expected = Webhook(secret).sign(headers["webhook-id"], at, body.decode())
    return any(hmac.compare_digest(part, expected) for part in headers["webhook-signature"].split(" "))
