"""How a block's transitions are put on record: one audit record and one outbox event each, with
the same event payload everywhere (started, lifted, apply overdue, ended)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.blocks.enums import Kind
from vncomply.blocks.models import AccountBlock
from vncomply.events import outbox
from vncomply.kit.principal import Principal

RESOURCE = "account_block"


def kind_of(b: AccountBlock) -> Kind:
    return Kind.permanent if b.permanent else Kind.temporary


def event_data(b: AccountBlock) -> dict[str, Any]:
    return {
        "block_id": str(b.id),
        "subject_type": b.subject_type.value,
        "subject_id": b.subject_id,
        "origin": b.origin.value,
        "kind": kind_of(b).value,
        "starts_at": b.starts_at.isoformat(),
        "ends_at": b.ends_at.isoformat() if b.ends_at else None,
        "apply_by": b.apply_by.isoformat(),
        "authority_id": str(b.authority_id) if b.authority_id else None,
        "reference_no": b.reference_no,
    }


async def announce(
    session: AsyncSession,
    actor: Principal | None,
    b: AccountBlock,
    name: str,
    details: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> None:
    """Audit ``name`` with ``details`` and emit it with the block's payload (+ ``extra``)."""
    audit.record(session, actor, name, RESOURCE, b.id, b.platform_id, details)
    await outbox.emit(session, b.platform_id, name, {**event_data(b), **(extra or {})})
