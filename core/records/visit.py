"""Visits (QĐ 831 part 4) as clinics send them in QĐ 130/QĐ-BYT checkout data.

A visit is identified by the facility and its visit key (MA_LK): a clinic that
sends the same MA_LK again replaces that visit with what it sends now.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.i18n import N_, now_utc
from core.records.base import Base, BigIntPK, str_enum


class VisitKind(enum.StrEnum):
    OUTPATIENT = "outpatient"
    DAY_TREATMENT = "day_treatment"
    INPATIENT = "inpatient"
    OTHER = "other"


VISIT_KIND_LABELS = {
    VisitKind.OUTPATIENT: N_("Outpatient"),
    VisitKind.DAY_TREATMENT: N_("Day treatment"),
    VisitKind.INPATIENT: N_("Inpatient"),
    VisitKind.OTHER: N_("Other"),
}

# QĐ 130 MA_LOAI_KCB -> kind. Our reading of the code list: 01 examination,
# 02/05/07/08 outpatient treatment and refills, 04 day inpatient, 03/06/09 inpatient.
VISIT_KIND_BY_CODE = {
    "01": VisitKind.OUTPATIENT,
    "02": VisitKind.OUTPATIENT,
    "05": VisitKind.OUTPATIENT,
    "07": VisitKind.OUTPATIENT,
    "08": VisitKind.OUTPATIENT,
    "04": VisitKind.DAY_TREATMENT,
    "03": VisitKind.INPATIENT,
    "06": VisitKind.INPATIENT,
    "09": VisitKind.INPATIENT,
}

# QĐ 130 KET_QUA_DTRI.
TREATMENT_RESULT_LABELS = {
    "1": N_("Cured"),
    "2": N_("Improved"),
    "3": N_("Unchanged"),
    "4": N_("Worse"),
    "5": N_("Died"),
    "6": N_("Serious prognosis, went home"),
    "7": N_("Not determined"),
}


class Visit(Base):
    __tablename__ = "visits"
    __table_args__ = (
        UniqueConstraint("facility_code", "visit_key"),
        Index("ix_visits_citizen_admitted", "citizen_id", "admitted_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("citizens.id", ondelete="CASCADE"))
    facility_code: Mapped[str] = mapped_column(String(5))
    visit_key: Mapped[str] = mapped_column(String(100))  # MA_LK
    kind: Mapped[VisitKind] = mapped_column(str_enum(VisitKind))
    kind_code: Mapped[str | None] = mapped_column(String(2))  # MA_LOAI_KCB as sent
    admitted_at: Mapped[dt.datetime]
    discharged_at: Mapped[dt.datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)
    diagnosis: Mapped[str | None] = mapped_column(Text)
    primary_icd10: Mapped[str | None] = mapped_column(String(10))
    secondary_icd10: Mapped[str | None] = mapped_column(String(200))  # `;`-separated, as sent
    treatment_result: Mapped[str | None] = mapped_column(String(2))
    follow_up_on: Mapped[dt.date | None]  # NGAY_TAI_KHAM
    content_hash: Mapped[str] = mapped_column(String(64))
    provenance_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("provenance.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    prescriptions: Mapped[list[Prescription]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="Prescription.id"
    )
    test_results: Mapped[list[TestResult]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="TestResult.id"
    )

    @property
    def secondary_codes(self) -> list[str]:
        return [c for c in (self.secondary_icd10 or "").split(";") if c]


class Prescription(Base):
    """A drug line of the visit (QĐ 130 XML2)."""

    __tablename__ = "prescriptions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    visit_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("visits.id", ondelete="CASCADE"), index=True
    )
    drug: Mapped[str] = mapped_column(String(300))
    strength: Mapped[str | None] = mapped_column(String(200))
    route: Mapped[str | None] = mapped_column(String(100))
    dose: Mapped[str | None] = mapped_column(String(300))
    instructions: Mapped[str | None] = mapped_column(Text)
    quantity: Mapped[float | None] = mapped_column(Numeric(12, 3, asdecimal=False))
    unit: Mapped[str | None] = mapped_column(String(50))
    ordered_at: Mapped[dt.datetime | None]


class TestResult(Base):
    """A paraclinical result of the visit (QĐ 130 XML4)."""

    __tablename__ = "test_results"
    __test__ = False  # not a pytest class

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    visit_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("visits.id", ondelete="CASCADE"), index=True
    )
    service_code: Mapped[str | None] = mapped_column(String(50))
    indicator_code: Mapped[str | None] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(300))
    value: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(50))
    description: Mapped[str | None] = mapped_column(Text)
    conclusion: Mapped[str | None] = mapped_column(Text)
    resulted_at: Mapped[dt.datetime | None]
