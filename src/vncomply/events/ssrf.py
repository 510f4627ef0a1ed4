"""SSRF guard for webhook URLs.

A URL is acceptable when its scheme is https (or http outside prod), its port is 80, 443 or 8443,
and *every* address its host resolves to is public — unless the target is allow-listed in
``webhook_allow_private`` (the host by name, or every address it resolves to by network), which
lifts both the address and the port rule. Refusals never say what a name resolved to (that would
map the internal network for whoever registers URLs); in ``dev`` they name the setting. The check
runs when an endpoint is created or changed and again when a delivery is sent; the sender then
connects to the address it checked (``Target.ip``), not to a fresh lookup, so a DNS answer that
changes between check and connect (DNS rebinding) cannot redirect the request to an internal host.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from vncomply.config import Env, get_settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# The usual HTTPS/HTTP ports and the common alternative; anything else (databases, admin consoles,
# Redis on 6379…) is refused unless the target is allow-listed.
ALLOWED_PORTS = (80, 443, 8443)
ALLOW_SETTING = "VNCOMPLY_WEBHOOK_ALLOW_PRIVATE"


class UnsafeUrl(Exception):
    """The URL may not be called; the message says why (safe to show to the endpoint's owner)."""


@dataclass(frozen=True, slots=True)
class Target:
    scheme: str
    host: str  # as written in the URL (lower case, no brackets)
    port: int
    ip: str  # the checked address to connect to


async def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (tests replace this function)."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _allow_list() -> tuple[frozenset[str], tuple[IPNetwork, ...]]:
    hosts: set[str] = set()
    nets: list[IPNetwork] = []
    for entry in get_settings().webhook_allow_private:
        try:
            nets.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            hosts.add(entry.lower().rstrip("."))
    return frozenset(hosts), tuple(nets)


def forbidden_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public unicast address, or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return forbidden_reason(ip.ipv4_mapped)
    checks = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local (cloud metadata lives here)"),
        (ip.is_multicast, "multicast"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
        (not ip.is_global, "not globally routable"),
    )
    for hit, reason in checks:
        if hit:
            return reason
    return None


def parse(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an acceptable URL shape, or UnsafeUrl."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    allowed = ("https",) if get_settings().env is Env.prod else ("https", "http")
    if scheme not in allowed:
        raise UnsafeUrl(f"the URL must use {' or '.join(allowed)}")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("the URL must not carry credentials; authenticate with the signature")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeUrl("the URL has no host")
    if parts.fragment:
        raise UnsafeUrl("the URL must not have a #fragment")
    return scheme, host, port or (443 if scheme == "https" else 80)


def _dev_hint(what: str) -> str:
    if not get_settings().is_dev:
        return ""
    return f"; to allow {what} in development, add it to {ALLOW_SETTING} (e.g. `127.0.0.1/32,localhost`)"


async def check(url: str) -> Target:
    """Validate ``url`` and pick the address to connect to; raise UnsafeUrl if it is not allowed."""
    scheme, host, port = parse(url)
    allowed_hosts, allowed_nets = _allow_list()
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = await resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise UnsafeUrl(f"the host {host} does not resolve ({exc})") from None
        if not addresses:
            raise UnsafeUrl(f"the host {host} does not resolve")
    ips = [ipaddress.ip_address(raw.split("%", 1)[0]) for raw in addresses]
    allow_listed = host in allowed_hosts or all(any(ip in net for net in allowed_nets) for ip in ips)
    if not allow_listed:
        for ip in ips:
            if any(ip in net for net in allowed_nets):
                continue
            reason = forbidden_reason(ip)
            if reason is not None:
                # The host as written, never the address a name resolved to.
                what = "is not a public" if literal is not None else "resolves to a non-public"
                raise UnsafeUrl(
                    f"{host} {what} address ({reason}); webhooks go to public addresses only"
                    f"{_dev_hint('a local receiver')}"
                )
        if port not in ALLOWED_PORTS:
            raise UnsafeUrl(
                f"port {port} is not allowed; webhooks go to port "
                f"{', '.join(map(str, ALLOWED_PORTS[:-1]))} or {ALLOWED_PORTS[-1]}"
                f"{_dev_hint('a receiver on another port')}"
            )
    # No happy eyeballs: prefer IPv4 (a name like localhost often lists ::1 first while the
    # receiver listens on IPv4 only).
    chosen = next((a for a in addresses if ":" not in a), addresses[0])
    return Target(scheme=scheme, host=host, port=port, ip=chosen.split("%", 1)[0])
