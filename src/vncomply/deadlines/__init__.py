"""The shared deadline engine: a registry of handlers and one sweep (docs/deadlines.md).

    from vncomply.deadlines.engine import register
    register("blocks.expiry", AccountBlock, expire_block, stuck=..., )

``sweep()`` claims due rows of every handler with ``FOR UPDATE SKIP LOCKED`` and applies one
idempotent transition per row, committing per batch.
"""

from __future__ import annotations

from vncomply.kit.domain import Domain

DOMAIN = Domain()
