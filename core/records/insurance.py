"""Health-insurance cards (thẻ BHYT) with their history.

A card period is never edited in place: a renewal or a change of the registered
facility adds a row and marks the earlier one superseded.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from core.i18n import now_utc
from core.records.base import Base, BigIntPK


class InsuranceCard(Base):
    __tablename__ = "insurance_cards"
    __table_args__ = (Index("ix_insurance_cards_citizen", "citizen_id", "valid_from"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("citizens.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(15), index=True)
    social_insurance_number: Mapped[str] = mapped_column(String(10))
    beneficiary_group: Mapped[str] = mapped_column(String(2))
    benefit_level: Mapped[int] = mapped_column(SmallInteger)
    valid_from: Mapped[dt.date | None]
    valid_to: Mapped[dt.date | None]
    # Nơi đăng ký khám chữa bệnh ban đầu (MA_DKBD).
    registered_facility_code: Mapped[str | None] = mapped_column(String(5))
    provenance_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("provenance.id"))
    superseded_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
