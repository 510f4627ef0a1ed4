"""The sender's HTTP guarantees, through the real sender (aiohttp) against real receivers on loopback:
it connects to the address the SSRF guard checked and nowhere else, keeps the name for Host and
TLS (SNI, certificate), follows no redirect, and reads at most ``MAX_RESPONSE_BYTES`` of an answer."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy.ext.asyncio import AsyncSession
from tests.events.conftest import Receiver
from tests.events.test_delivery import deliveries, endpoint
from tests.factories import Keys, platform_keys

from vncomply.config import get_settings
from vncomply.events import delivery, outbox, sender, ssrf
from vncomply.kit import clock

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen() -> None:
    clock.set_now(T0)


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """What the SSRF guard's lookup answers (names under .test); 127/8 is allow-listed."""
    answers: dict[str, list[str]] = {}

    async def resolve(host: str, port: int) -> list[str]:
        return answers[host]

    monkeypatch.setattr(ssrf, "resolve", resolve)
    monkeypatch.setattr(get_settings(), "webhook_allow_private", ["127.0.0.0/8"])
    return answers


async def send_one(db: AsyncSession, keys: Keys, snd: sender.Sender | None = None) -> None:
    await outbox.emit(db, keys.platform_id, "block.started", {})
    await db.flush()
    await delivery.run_cycle(sender=snd)


def twin_receivers(receivers: Callable[..., Receiver], **kw: Any) -> tuple[Receiver, Receiver]:
    """Two receivers on the same port, at 127.0.0.1 and 127.0.0.2: a request reaches one or the
    other only by the address it was sent to."""
    a = receivers(**kw)
    return a, receivers(host="127.0.0.2", port=a.port, **kw)


async def test_connects_only_to_the_checked_address(
    client,
    db: AsyncSession,
    receivers: Callable[..., Receiver],
    dns: dict[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
):
    checked, elsewhere = twin_receivers(receivers, keep_alive=True)
    dns["hooks.test"] = ["127.0.0.1"]
    # Any other lookup of the name — the client's own, at connect time — answers the other
    # address (DNS rebinding between check and connect).
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo

    async def rebinding(host: Any, port: Any, *args: Any, **kw: Any) -> Any:
        if host == "hooks.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", int(port)))]
        return await real(host, port, *args, **kw)

    monkeypatch.setattr(loop, "getaddrinfo", rebinding)
    keys = await platform_keys(db)
    ep_id, _ = await endpoint(client, keys, f"http://hooks.test:{checked.port}/in")
    snd = sender.Sender()
    try:
        await send_one(db, keys, snd)
        assert len(checked.requests) == 1
        assert elsewhere.requests == []
        assert checked.requests[0].headers["host"] == f"hooks.test:{checked.port}"

        # The check now answers the other address: the same sender (its keep-alive connection to
        # the first one still open) sends there, on a new connection.
        dns["hooks.test"] = ["127.0.0.2"]
        clock.advance(timedelta(seconds=1))
        await send_one(db, keys, snd)
        assert len(checked.requests) == 1
        assert len(elsewhere.requests) == 1
    finally:
        await snd.aclose()
    assert {d["status"] for d in await deliveries(client, keys, ep_id)} == {"delivered"}


async def test_pinned_resolver_answers_only_the_checked_host() -> None:
    r = sender.PinnedResolver("hooks.test", "127.0.0.1")
    [answer] = await r.resolve("hooks.test", 8443)
    assert (answer["host"], answer["port"], answer["family"]) == ("127.0.0.1", 8443, socket.AF_INET)
    assert (await sender.PinnedResolver("h.test", "::1").resolve("h.test", 80))[0]["family"] == (
        socket.AF_INET6
    )
    with pytest.raises(OSError, match="not checked"):
        await r.resolve("other.test", 443)


async def test_a_redirect_is_not_followed(client, db: AsyncSession, receivers: Callable[..., Receiver]):
    target = receivers()
    bouncer = receivers(always=307, location=target.url)
    keys = await platform_keys(db)
    ep_id, _ = await endpoint(client, keys, bouncer.url)
    await send_one(db, keys)
    assert len(bouncer.requests) == 1
    assert target.requests == []
    [d] = await deliveries(client, keys, ep_id)
    assert (d["status"], d["last_status_code"], d["last_error"]) == ("pending", 307, "HTTP 307")


async def test_the_response_cap_holds(
    client, db: AsyncSession, receivers: Callable[..., Receiver], monkeypatch: pytest.MonkeyPatch
):
    """The receiver promises 100 MB, sends 1 MiB and stalls: the sender stops reading past the cap
    and records the status, instead of waiting for the rest until the timeout."""
    monkeypatch.setattr(get_settings(), "webhook_timeout_seconds", 5)
    rec = receivers(body=b"x" * (1 << 20), declared_length=100_000_000)
    keys = await platform_keys(db)
    ep_id, _ = await endpoint(client, keys, rec.url)
    t = asyncio.get_running_loop().time()
    await send_one(db, keys)
    assert asyncio.get_running_loop().time() - t < 4
    [d] = await deliveries(client, keys, ep_id)
    assert (d["status"], d["last_status_code"]) == ("delivered", 200)


async def test_an_answer_within_the_cap_is_read_whole(
    client, db: AsyncSession, receivers: Callable[..., Receiver]
):
    rec = receivers(body=b"x" * sender.MAX_RESPONSE_BYTES, keep_alive=True)
    keys = await platform_keys(db)
    ep_id, _ = await endpoint(client, keys, rec.url)
    await send_one(db, keys)
    await send_one(db, keys)
    assert len(rec.requests) == 2
    assert {d["status"] for d in await deliveries(client, keys, ep_id)} == {"delivered"}


def _tls(tmp: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server, client) contexts: a CA the client trusts, and a certificate for ``name`` from it."""

    def cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, signer: Any, ca: bool) -> Any:
        now = datetime.now(UTC)
        b = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            b = b.add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
        else:
            b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        return b.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = cert("test CA", ca_key, "test CA", ca_key, True)
    leaf = cert(name, key, "test CA", ca_key, False)
    pem = serialization.Encoding.PEM
    (tmp / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp / "leaf.pem").write_bytes(leaf.public_bytes(pem))
    (tmp / "key.pem").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp / "leaf.pem", tmp / "key.pem")
    return server, ssl.create_default_context(cafile=str(tmp / "ca.pem"))


async def test_tls_uses_the_name_while_connecting_to_the_checked_address(
    client,
    db: AsyncSession,
    receivers: Callable[..., Receiver],
    dns: dict[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
):
    server_ctx, client_ctx = _tls(tmp_path, "hooks.test")
    sni: list[str | None] = []
    server_ctx.sni_callback = lambda _sock, name, _ctx: sni.append(name)  # type: ignore[assignment,misc,return-value]
    monkeypatch.setattr(sender, "_ssl", client_ctx)
    rec = receivers(tls=server_ctx)
    dns["hooks.test"] = ["127.0.0.1"]
    dns["other.test"] = ["127.0.0.1"]
    keys = await platform_keys(db)
    ep_id, _ = await endpoint(client, keys, f"https://hooks.test:{rec.port}/in")
    await send_one(db, keys)
    [req] = rec.requests
    assert req.headers["host"] == f"hooks.test:{rec.port}"
    assert sni == ["hooks.test"]
    [d] = await deliveries(client, keys, ep_id)
    assert d["status"] == "delivered"

    # The certificate is verified against the URL's name, not the address: a name the certificate
    # does not cover fails, though the address is the same.
    await client.patch(
        f"/v1/webhook-endpoints/{ep_id}",
        headers={"authorization": f"Bearer {keys.platform}"},
        json={"url": f"https://other.test:{rec.port}/in"},
    )
    clock.advance(timedelta(seconds=1))
    await send_one(db, keys)
    assert len(rec.requests) == 1
    failed = [d for d in await deliveries(client, keys, ep_id) if d["status"] == "pending"]
    assert len(failed) == 1
    assert "certificate" in str(failed[0]["last_error"]).lower()
