"""What the worker and beat say while nothing happens, and while the database is away.

- Celery logs every task it receives and completes, and beat every task it sends, at INFO. With the
  webhook dispatch every 2 s that is several lines a second on an idle system: `vncomply up`'s
  banner (docs URL, admin key, export lines) scrolls away and anything worth reading is buried. For
  the tasks of the beat schedule these lines are DEBUG (``--loglevel=DEBUG`` shows them again);
  failures, retries and anything else Celery says keep their level.
- A task that finds the database unreachable would fail with a traceback on every tick (every 2 s
  for the dispatch). Instead the process logs one line when it loses the database and one when it
  has it back, and skips the ticks in between: nothing is lost, the clocks are rows in PostgreSQL
  and the first tick after the outage catches up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from vncomply.kit.logs import get_logger

# Where Celery logs "Task … received" (strategy), "… succeeded"/"… ignored" (trace) and beat's
# "Sending due task …".
ROUTINE_LOGGERS = ("celery.worker.strategy", "celery.app.trace", "celery.beat")
log = get_logger("vncomply.worker")


class RoutineTicks(logging.Filter):
    """Demotes Celery's INFO lines about the named (scheduled) tasks to DEBUG."""

    def __init__(self, task_names: Iterable[str]) -> None:
        super().__init__()
        self.task_names = tuple(sorted(set(task_names)))

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        message = record.getMessage()
        if not any(name in message for name in self.task_names):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def quiet_routine_ticks(task_names: Iterable[str]) -> RoutineTicks:
    """Install the filter on Celery's loggers (idempotent: once per logger)."""
    ticks = RoutineTicks(task_names)
    for name in ROUTINE_LOGGERS:
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, RoutineTicks)]:
            logger.removeFilter(old)
        logger.addFilter(ticks)
    return ticks


class Outage:
    """The database as this process last found it; only the changes are logged."""

    def __init__(self) -> None:
        self.down = False

    def failed(self, exc: BaseException) -> None:
        if not self.down:
            self.down = True
            log.warning(
                "database_unreachable",
                error_type=type(exc).__name__,
                effect="scheduled tasks are skipped until it is back; deadlines are rows in "
                "PostgreSQL and are caught up then",
            )

    def recovered(self) -> None:
        if self.down:
            self.down = False
            log.info("database_reachable_again")
