"""How Celery talks to Redis: reconnecting fast after an outage, and surviving one at all.

Measured by tests/faults/test_redis_outage.py (docs/scaling.md, "Redis outages"):

- Celery's worker reconnects through kombu's ``ensure_connection`` with its default back-off
  (retries at +0, 2, 6, 12, 20 … s, capped at 30 s between tries): sweeps and deliveries resumed
  10-15 s after Redis came back. Celery has no setting for that back-off, so ``Consumer`` passes
  ours: one try a second, for ever (``broker_connection_max_retries=None``: the default of 100
  tries at one a second would give up after a two-minute outage and stop the worker).
- kombu 5.7's Redis transport crashes the worker after a lost connection ("Unrecoverable error:
  AttributeError: 'NoneType' object has no attribute 'hostname'", the worker exits): Celery
  ``collect()``s the dead connection, which detaches its transport from the connection settings
  (``transport.client = None``), and the old channel then still needs them — to restore the
  unacknowledged messages (``task_acks_late``) as it closes, and to acknowledge a task that was
  running across the outage and finishes after the reconnect. ``Channel`` remembers the settings
  it was opened with, so both reach Redis as they should (installed as ``broker_transport``).
"""

from __future__ import annotations

import functools
from typing import Any

from celery.worker.consumer import Consumer as CeleryConsumer
from kombu.transport import redis as kombu_redis

# One try a second after the first immediate one: a Redis back after an outage is noticed
# within a second, and a down Redis costs one refused connect per second per worker.
RECONNECT = {"interval_start": 0.0, "interval_step": 0.5, "interval_max": 1.0}


def broker_options() -> dict[str, Any]:
    """Celery settings for the broker connection (worker and beat)."""
    return {
        "broker_connection_retry": True,
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,  # for ever: an outage must never stop a worker
        "broker_transport_options": {
            # Unacknowledged messages (acks_late) go back to the queue after this; long, since a
            # redelivered sweep tick is harmless but an hour-long task must not run twice.
            "visibility_timeout": 3600,
            # A dead Redis that never closes the socket (failover, a dropped NAT entry) must not
            # hang a publish for ever; a refused or timed-out command is retried once.
            "socket_timeout": 5.0,
            "socket_connect_timeout": 2.0,
            "socket_keepalive": True,
            "retry_on_timeout": True,
            # redis-py pings a connection idle for this long before using it, and kombu checks
            # its BRPOP connection on the same period (5.7): a half-open consumer connection is
            # replaced within brpop_timeout + 2 x this.
            "health_check_interval": 10,
            # A publish (beat's ticks, the API's enqueues) retries for about a second, then fails
            # and is logged; beat sends the next tick on its schedule.
            "max_retries": 3,
            **RECONNECT,
        },
        "task_publish_retry_policy": {"max_retries": 3, **RECONNECT},
        # broker_heartbeat is AMQP's: kombu's Redis transport has no heartbeats (the health
        # checks above do that job), so it is left at its default.
        "worker_consumer": f"{__name__}:Consumer",
        # redis:// URLs, through our Transport (same settings, the channel fix below).
        "broker_transport": f"{__name__}:Transport",
    }


class Consumer(CeleryConsumer):
    """Celery's consumer with our reconnect back-off."""

    def ensure_connected(self, conn: Any) -> Any:
        # Celery calls conn.ensure_connection(errback, max_retries, callback=…) without intervals,
        # so kombu's defaults (2 s, +2 s per try, up to 30 s) apply; give it ours.
        conn.ensure_connection = functools.partial(conn.ensure_connection, **RECONNECT)
        return super().ensure_connected(conn)


class Channel(kombu_redis.Channel):
    """kombu's Redis channel, keeping the connection settings it was opened with (see above)."""

    def __init__(self, connection: Any, *args: Any, **kwargs: Any) -> None:
        self._opened_for = connection.client  # the kombu Connection: URL, options
        super().__init__(connection, *args, **kwargs)

    def _connparams(self, asynchronous: bool = False) -> Any:
        if self.connection.client is None:  # detached by Connection.collect() after an outage
            self.connection.client = self._opened_for
        parent: Any = super()  # the stubs do not declare kombu's private method
        return parent._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel
