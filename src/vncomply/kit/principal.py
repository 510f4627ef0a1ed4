from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    platform = "platform"
    officer = "officer"
    authority = "authority"


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: uuid.UUID
    role: Role
    platform_id: uuid.UUID | None
    authority_id: uuid.UUID | None
    # Set only on the system actor (`system_actor`): where its actions came from, e.g. "cli".
    via: str | None = None

    @property
    def is_system(self) -> bool:
        """Acting with admin rights but no API key: recorded as the `system` actor."""
        return self.via is not None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin

    def require_platform(self) -> uuid.UUID:
        if self.platform_id is None:
            raise RuntimeError("principal has no platform")
        return self.platform_id

    def require_authority(self) -> uuid.UUID:
        if self.authority_id is None:
            raise RuntimeError("principal has no authority")
        return self.authority_id

    def actor(self) -> dict[str, str | None]:
        return {
            "key_id": str(self.key_id),
            "role": self.role.value,
            "platform_id": str(self.platform_id) if self.platform_id else None,
            "authority_id": str(self.authority_id) if self.authority_id else None,
        }


def system_actor(via: str) -> Principal:
    """The system acting with admin rights outside the API (an operator command: ``via="cli"``).
    The audit trail records it as the `system` actor, with no key and ``details.via``."""
    return Principal(uuid.UUID(int=0), Role.admin, None, None, via)
