from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, LargeBinary, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from vncomply.kit.db import Base


class AuditEvent(Base):
    """One state-changing action. Append-only (a trigger refuses UPDATE/DELETE of sealed rows).

    Rows are inserted unsealed; the sealer chains them per platform (``chain_seq``/``hash``) every
    few seconds, so concurrent writers never wait on a chain head (docs/audit.md).
    """

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime]
    actor_key_id: Mapped[uuid.UUID | None]
    actor_role: Mapped[str] = mapped_column(String(20))
    actor_platform_id: Mapped[uuid.UUID | None]
    actor_authority_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(80))
    resource_type: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str] = mapped_column(String(200))
    platform_id: Mapped[uuid.UUID | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    chain_seq: Mapped[int | None] = mapped_column(BigInteger)
    prev_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))

    __table_args__ = (
        Index("ix_audit_events_platform_seq", "platform_id", "seq"),
        Index("ix_audit_events_resource", "resource_type", "resource_id"),
        Index("ix_audit_events_unsealed", "seq", postgresql_where="hash IS NULL"),
        Index("ix_audit_events_chain", "platform_id", "chain_seq"),
    )
