"""The process's Redis client (async). Created lazily so Celery forks get their own connections."""

from __future__ import annotations

from redis.asyncio import Redis

from vncomply.config import get_settings

_client: Redis | None = None


def redis_url() -> str:
    url = get_settings().redis_url
    if not url:
        raise RuntimeError("VNCOMPLY_REDIS_URL is not set; run `vncomply up` for embedded Redis")
    return url


def get_redis() -> Redis:
    global _client
    if _client is None:
        _client = Redis.from_url(
            redis_url(), socket_connect_timeout=0.5, socket_timeout=0.5, health_check_interval=30
        )
    return _client


async def close_redis() -> None:
    global _client
    if _client is not None:
        await _client.aclose()
    _client = None


def key(*parts: str) -> str:
    return ":".join((get_settings().redis_key_prefix, *parts))


def forget_after_fork() -> None:
    """Drop the client inherited through a fork: its sockets belong to the parent."""
    global _client
    _client = None
