"""Immunizations (QĐ 831/QĐ-BYT, part 3): EPI, COVID-19 and service vaccines."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.i18n import N_, now_utc
from core.records.base import Base, BigIntPK, str_enum


class Programme(enum.StrEnum):
    EPI = "epi"          # tiêm chủng mở rộng (tcmr)
    COVID19 = "covid19"
    SERVICE = "service"  # tiêm dịch vụ


PROGRAMME_LABELS = {
    Programme.EPI: N_("Expanded programme (EPI)"),
    Programme.COVID19: N_("COVID-19 vaccination campaign"),
    Programme.SERVICE: N_("Paid service"),
}


class Immunization(Base):
    __tablename__ = "immunizations"
    # One dose of one vaccine on one day: re-importing the registry changes nothing.
    __table_args__ = (UniqueConstraint("citizen_id", "vaccine", "dose_number", "given_on"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("citizens.id", ondelete="CASCADE"), index=True
    )
    vaccine: Mapped[str] = mapped_column(String(200))
    antigens: Mapped[str | None] = mapped_column(String(200))
    dose_number: Mapped[int] = mapped_column(SmallInteger)
    given_on: Mapped[dt.date]
    facility_code: Mapped[str | None] = mapped_column(String(5))
    lot: Mapped[str | None] = mapped_column(String(50))
    programme: Mapped[Programme] = mapped_column(str_enum(Programme))
    provenance_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("provenance.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
