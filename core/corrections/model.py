"""Correction requests: the citizen asks the ward health station to fix an official detail.

Name, birth date, sex, personal ID and insurance card come from official registers
(QĐ 4026/QĐ-BYT administrative group); the citizen does not edit them but files a
request, which health-station staff approve (recorded with their provenance) or reject.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.records.base import Base, BigIntPK, UTCDateTime, str_enum


class RequestStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CLOSED = "closed"  # the person died before anyone decided (core.volunteering.deaths)


class CorrectionRequest(Base):
    __tablename__ = "correction_requests"
    __table_args__ = (Index("ix_correction_requests_ward", "status", "ward_code"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("citizens.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(32))
    proposed_value: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(500))
    ward_code: Mapped[str | None] = mapped_column(String(5))  # the citizen's ward when filed
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[RequestStatus] = mapped_column(str_enum(RequestStatus), default=RequestStatus.PENDING)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(String(500))
