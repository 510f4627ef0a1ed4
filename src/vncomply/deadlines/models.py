"""The sweep's own bookkeeping: one row per handler with its last run (read by /metrics).

Kept in PostgreSQL rather than in process memory because the sweep runs in a Celery worker while
/metrics is served by the API process.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vncomply.kit.db import Base


class DeadlineSweep(Base):
    __tablename__ = "deadline_sweeps"

    handler: Mapped[str] = mapped_column(String(80), primary_key=True)
    last_started_at: Mapped[datetime]
    last_finished_at: Mapped[datetime]
    last_duration_seconds: Mapped[float] = mapped_column(Float)
    last_processed: Mapped[int] = mapped_column(Integer)
    last_failed: Mapped[int] = mapped_column(Integer)
    last_repaired: Mapped[int] = mapped_column(Integer, default=0)
