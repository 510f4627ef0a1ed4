"""Prometheus metrics. Domain packages register their own gauges here so /metrics has one registry."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "vncomply_http_requests_total",
    "HTTP requests by route template and status",
    ["route", "status"],
)
HTTP_LATENCY = Histogram(
    "vncomply_http_request_seconds",
    "HTTP request latency by route template",
    ["route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BEAT_HEARTBEAT_AGE = Gauge(
    "vncomply_beat_heartbeat_age_seconds", "Seconds since Celery beat last ticked (-1: never)"
)
REDIS_FAILURES = Counter(
    "vncomply_redis_failures_total",
    "Redis calls that failed and were served without Redis",
    ["what"],
)
PERMISSION_FAST_PATH = Counter(
    "vncomply_permission_fast_path_total",
    "Permission checks answered by the fast path (served) or handed on to the full route",
    ["outcome"],
)
PERMISSION_BATCH_SIZE = Histogram(
    "vncomply_permission_coalesced_batch_size",
    "Single permission checks answered by one statement (coalesced under load)",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 1000),
)
