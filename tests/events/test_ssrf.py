from __future__ import annotations

import pytest

from vncomply.config import Env, get_settings
from vncomply.events import ssrf


@pytest.fixture
def no_allow_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "webhook_allow_private", [])


def fake_dns(monkeypatch: pytest.MonkeyPatch, table: dict[str, list[str]]) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError("no such host")
        return table[host]

    monkeypatch.setattr(ssrf, "resolve", resolve)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.0.0.1/hook", "private"),
        ("http://172.16.5.4/hook", "private"),
        ("http://192.168.1.1/hook", "private"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://[fd00:ec2::254]/hook", "private"),
        ("http://[::ffff:10.0.0.1]/hook", "private"),
        ("http://0.0.0.0/hook", "unspecified"),
        ("http://224.0.0.1/hook", "multicast"),
        ("http://100.100.100.200/hook", "not globally routable"),
    ],
)
async def test_refuses_non_public_addresses(no_allow_list: None, url: str, reason: str) -> None:
    with pytest.raises(ssrf.UnsafeUrl, match=reason):
        await ssrf.check(url)


async def test_localhost_refused_without_allow_list(no_allow_list: None) -> None:
    with pytest.raises(ssrf.UnsafeUrl, match="loopback"):
        await ssrf.check("http://localhost:9999/hook")


async def test_name_resolving_to_private_address(
    no_allow_list: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_dns(monkeypatch, {"internal.example.com": ["93.184.216.34", "10.1.2.3"]})
    # One private answer among public ones is enough to refuse (the connect could pick it).
    with pytest.raises(
        ssrf.UnsafeUrl, match=r"internal\.example\.com resolves to a non-public address"
    ) as exc:
        await ssrf.check("https://internal.example.com/hook")
    # ... and the refusal does not map the internal network for whoever registers URLs.
    assert "10.1.2.3" not in str(exc.value)
    assert "93.184" not in str(exc.value)


async def test_public_name_accepted_and_pinned(no_allow_list: None, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {"hooks.example.com": ["2606:2800:220:1::1", "93.184.216.34"]})
    t = await ssrf.check("https://hooks.example.com/x")
    assert (t.scheme, t.host, t.port, t.ip) == ("https", "hooks.example.com", 443, "93.184.216.34")


async def test_unresolvable_name(no_allow_list: None, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {})
    with pytest.raises(ssrf.UnsafeUrl, match="does not resolve"):
        await ssrf.check("https://nowhere.example/x")


async def test_allow_list_by_cidr_and_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "webhook_allow_private", ["10.9.0.0/16", "hooks.internal"])
    fake_dns(monkeypatch, {"hooks.internal": ["192.168.7.7"]})
    assert (await ssrf.check("http://10.9.1.1/x")).ip == "10.9.1.1"
    assert (await ssrf.check("http://hooks.internal/x")).ip == "192.168.7.7"
    with pytest.raises(ssrf.UnsafeUrl):
        await ssrf.check("http://10.8.1.1/x")


async def test_prod_requires_https(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "env", Env.prod)
    with pytest.raises(ssrf.UnsafeUrl, match="must use https"):
        await ssrf.check("http://93.184.216.34/x")
    assert (await ssrf.check("https://93.184.216.34/x")).port == 443


@pytest.mark.parametrize(
    "url", ["ftp://93.184.216.34/x", "https://user:pw@93.184.216.34/x", "https:///x", "http://[::1"]
)
async def test_malformed_urls(url: str) -> None:
    with pytest.raises(ssrf.UnsafeUrl):
        await ssrf.check(url)


@pytest.mark.parametrize("port", [22, 5432, 6379, 8080, 9200])
async def test_other_ports_refused(no_allow_list: None, monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    fake_dns(monkeypatch, {"hooks.example.com": ["93.184.216.34"]})
    with pytest.raises(ssrf.UnsafeUrl, match=rf"port {port} is not allowed.*80, 443 or 8443"):
        await ssrf.check(f"https://hooks.example.com:{port}/x")


@pytest.mark.parametrize(
    ("url", "port"),
    [
        ("https://h.example/x", 443),
        ("http://h.example/x", 80),
        ("https://h.example:8443/x", 8443),
        ("http://h.example:443/x", 443),
    ],
)
async def test_usual_ports_accepted(
    no_allow_list: None, monkeypatch: pytest.MonkeyPatch, url: str, port: int
) -> None:
    fake_dns(monkeypatch, {"h.example": ["93.184.216.34"]})
    assert (await ssrf.check(url)).port == port


async def test_allow_listed_targets_may_use_any_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "webhook_allow_private", ["10.9.0.0/16", "hooks.internal"])
    fake_dns(monkeypatch, {"hooks.internal": ["192.168.7.7"], "via-net.example": ["10.9.3.3"]})
    assert (await ssrf.check("http://hooks.internal:9000/x")).port == 9000
    assert (await ssrf.check("http://10.9.1.1:9000/x")).port == 9000
    assert (await ssrf.check("http://via-net.example:9000/x")).ip == "10.9.3.3"
    # Allow-listing a network does not lift the port rule for public addresses.
    with pytest.raises(ssrf.UnsafeUrl, match="port 9000"):
        await ssrf.check("http://93.184.216.34:9000/x")


@pytest.mark.parametrize("env", [Env.dev, Env.test, Env.prod])
async def test_dev_refusals_name_the_allow_list_setting(
    no_allow_list: None, monkeypatch: pytest.MonkeyPatch, env: Env
) -> None:
    monkeypatch.setattr(get_settings(), "env", env)
    with pytest.raises(ssrf.UnsafeUrl) as private:
        await ssrf.check("https://127.0.0.1/hook")
    fake_dns(monkeypatch, {"hooks.example.com": ["93.184.216.34"]})
    with pytest.raises(ssrf.UnsafeUrl) as port:
        await ssrf.check("https://hooks.example.com:9000/hook")
    for exc in (private, port):
        # Only a developer can change settings; a tenant in prod is not told about them.
        assert ("VNCOMPLY_WEBHOOK_ALLOW_PRIVATE" in str(exc.value)) is (env is Env.dev)
