from __future__ import annotations

import uuid

from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vncomply.authorities.enums import AuthorityKind
from vncomply.kit.columns import StrEnumType, Timestamps, UUIDPk
from vncomply.kit.db import Base
from vncomply.platforms.models import Platform

authority_platforms = Table(
    "authority_platforms",
    Base.metadata,
    Column("authority_id", ForeignKey("authorities.id", ondelete="CASCADE"), primary_key=True),
    Column("platform_id", ForeignKey("platforms.id", ondelete="CASCADE"), primary_key=True),
)


class Authority(UUIDPk, Timestamps, Base):
    __tablename__ = "authorities"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[AuthorityKind] = mapped_column(StrEnumType(AuthorityKind, 20))
    all_platforms: Mapped[bool] = mapped_column(default=False)
    platforms: Mapped[list[Platform]] = relationship(secondary=authority_platforms, lazy="selectin")

    def may_address(self, platform_id: uuid.UUID) -> bool:
        return self.all_platforms or any(p.id == platform_id for p in self.platforms)
