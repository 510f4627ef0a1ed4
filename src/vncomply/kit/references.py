"""Authority orders and their reference numbers: one rule for takedown orders, block orders and
disclosure requests (house rule 9, docs/architecture.md; docs/takedowns.md, "Reference numbers").

- **Scope.** An order is unique per (authority, platform, reference number). One letter (one
  reference) may go to several platforms, so a number used for platform B never stops an order to
  platform A, and the conflict below can only ever be about an order the caller may read anyway:
  an authority's own order to that platform, or an order addressed to the officer's own platform.
- **Same content** under the same reference returns the existing order (``Created(…, False)``:
  200); **other content** is a ``ReferenceConflict`` (409). "Same" is the ``fingerprint``: SHA-256
  of the canonical JSON of the validated payload (orjson, keys sorted, nulls dropped), 32 bytes in
  the model's ``payload_hash`` column.
- **Concurrency.** ``claim`` takes a transaction-level advisory lock on the key before it looks, so
  two identical submissions in flight are serialised: the second waits until the first commits,
  then finds it and replays it (READ COMMITTED: its lookup is a new statement, with a new
  snapshot). The unique index on the three columns stays as the backstop.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar

import orjson
from pydantic import BaseModel
from sqlalchemy import LargeBinary, select
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.kit.db import advisory_lock
from vncomply.kit.errors import Conflict

T = TypeVar("T")
M = TypeVar("M")

# The column type of every stored fingerprint (a SHA-256 digest).
PAYLOAD_HASH = LargeBinary(32)
# Advisory-lock namespace (two-int form; other namespaces: blocks 0x0B10C, the audit sealer's
# single-bigint lock lives in another key space).
_LOCK_NS = 0x2EF


class Created(NamedTuple, Generic[T]):
    """What a creating service returns: the resource, and whether this call created it (201) or
    found an identical earlier submission (200)."""

    resource: T
    created: bool

    @property
    def status_code(self) -> int:
        return 201 if self.created else 200


@dataclass(frozen=True, slots=True)
class Reference:
    authority_id: uuid.UUID
    platform_id: uuid.UUID
    number: str


class ReferenceConflict(Conflict):
    def __init__(self, what: str, existing_id: uuid.UUID, reference_no: str) -> None:
        # Names only the caller's own order (see the module docstring): never another platform's.
        super().__init__(
            f"This authority's {what} {reference_no!r} to this platform already exists (id "
            f"{existing_id}) with different content; resend the original content to fetch it, or "
            "use a new reference_no for a new order.",
            extra={"reference_no": reference_no, "existing_id": str(existing_id)},
        )


def fingerprint(payload: BaseModel | Mapping[str, Any], **context: Any) -> bytes:
    """SHA-256 of the canonical payload: a validated model (so whitespace and defaults are already
    normalised) or a mapping the caller built, plus the parties the key does not carry in the body.
    Never pass plaintext PII here: an unkeyed hash of a phone number can be brute-forced."""
    data = (
        payload.model_dump(mode="json", exclude_none=True)
        if isinstance(payload, BaseModel)
        else dict(payload)
    )
    data.update(context)
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).digest()


async def claim(
    session: AsyncSession,
    model: type[M],
    ref: Reference,
    digest: bytes,
    what: str,
    *,
    also: Collection[bytes] = (),
) -> M | None:
    """Serialise submissions under ``ref`` until the transaction ends, then look it up.

    Returns the order already recorded with the same fingerprint — ``digest``, or one of ``also``
    (the same content fingerprinted as it may have been stored earlier) — (replay it), raises
    ``ReferenceConflict`` when it has other content, or returns None: the caller records the new
    order, which no concurrent submission can now race.
    """
    m: Any = model
    key = f"{m.__tablename__}:{ref.authority_id}:{ref.platform_id}:{ref.number}"
    await advisory_lock(session, _LOCK_NS, key)
    stmt = select(model).where(
        m.authority_id == ref.authority_id,
        m.platform_id == ref.platform_id,
        m.reference_no == ref.number,
    )
    existing: M | None = (await session.scalars(stmt)).first()
    row: Any = existing
    if row is not None and row.payload_hash != digest and row.payload_hash not in also:
        raise ReferenceConflict(what, row.id, ref.number)
    return existing
