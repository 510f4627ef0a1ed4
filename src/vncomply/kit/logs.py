"""Structured logging (structlog). PII keys are redacted in the pipeline as a second line of defence:
the code never logs PII in the first place, but a future ``log.info(..., **payload)`` must not leak."""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import MutableMapping
from typing import Any

import structlog

PII_KEYS = frozenset(
    {
        "full_name",
        "date_of_birth",
        "phone_number",
        "national_id",
        "phone",
        "code",
        "guardian",
        "authorization",
        "api_key",
        "secret",
    }
)


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if key.lower() in PII_KEYS:
            event[key] = "[redacted]"
    return event


def configure_logging(level: str = "INFO", json: bool = False) -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stdout, level=level.upper(), force=True)
    # Alembic announces each of its plugins at INFO when the API first reads the migration head
    # (for /readyz): start-up noise under `vncomply up`'s banner, nothing an operator acts on.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)


def safe_traceback(exc: BaseException) -> str:
    """Where ``exc`` (and the exceptions it chains) came from: frames and exception types only.

    Never the exceptions' messages (a database error quotes the row's values, a ``ValueError`` the
    input), local variables or source lines, so a 500's log line can carry it without carrying
    personal data.
    """
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    parts: list[str] = []
    for e in reversed(chain):
        if parts:
            parts.append("which caused (or was raised while handling):")
        parts.append("Traceback (most recent call last):")
        # No source lines either: file, line and function locate the code; nothing else is needed.
        parts.extend(
            f'  File "{f.filename}", line {f.lineno}, in {f.name}'
            for f in traceback.extract_tb(e.__traceback__)
        )
        parts.append(f"{type(e).__module__}.{type(e).__qualname__}")
    return "\n".join(parts)
