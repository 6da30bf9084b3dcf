"""What volunteers enter with a resident, kept apart until the resident or the station confirms it."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.records.base import Base, BigIntPK, UTCDateTime, str_enum


class PendingStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"  # by the resident or the station, or replaced by a newer entry


class PendingValue(Base):
    """A detail a volunteer entered with a resident: applied only once confirmed.

    The resident confirms in the bot if their account is linked; otherwise the ward
    health station confirms (`python -m core pending confirm`).
    """

    __tablename__ = "pending_values"
    __table_args__ = (Index("ix_pending_values_citizen", "citizen_id", "status"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("citizens.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(254))  # as register.serialize writes it
    staff_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("staff_members.id"))
    ward_code: Mapped[str | None] = mapped_column(String(5))
    status: Mapped[PendingStatus] = mapped_column(str_enum(PendingStatus), default=PendingStatus.PENDING)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(32))  # "citizen", "health_station" or "replaced"
