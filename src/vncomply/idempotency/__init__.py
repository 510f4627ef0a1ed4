from __future__ import annotations

from vncomply.kit.domain import Domain

DOMAIN = Domain()
