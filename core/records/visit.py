"""Visits (QĐ 831 part 4) as clinics send them in QĐ 130/QĐ-BYT checkout data.

A visit is identified by the facility and its visit key (MA_LK): a clinic that
sends the same MA_LK again replaces that visit with what it sends now.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.i18n import now_utc
from core.records.base import Base, BigIntPK, str_enum


class VisitKind(enum.StrEnum):
    OUTPATIENT = "outpatient"
    DAY_TREATMENT = "day_treatment"
    INPATIENT = "inpatient"
    OTHER = "other"


# QĐ 130 MA_LOAI_KCB -> the kind the record indexes by; the book shows the code's own
# label (core.reference.qd130.CARE_KIND_LABELS), never this grouping.
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
    "10": VisitKind.OTHER,
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
    reason: Mapped[str | None] = mapped_column(Text)  # LY_DO_VV
    admission_diagnosis: Mapped[str | None] = mapped_column(Text)  # CHAN_DOAN_VAO
    diagnosis: Mapped[str | None] = mapped_column(Text)  # CHAN_DOAN_RV
    primary_icd10: Mapped[str | None] = mapped_column(String(10))  # MA_BENH_CHINH
    secondary_icd10: Mapped[str | None] = mapped_column(String(200))  # MA_BENH_KT, `;` as sent
    treatment_method: Mapped[str | None] = mapped_column(Text)  # PP_DIEU_TRI
    treatment_result: Mapped[str | None] = mapped_column(String(2))  # KET_QUA_DTRI
    # NGAY_TAI_KHAM: every appointment date, ISO, `;`-separated, in date order.
    follow_up_dates: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)  # GHI_CHU
    weight_kg: Mapped[float | None] = mapped_column(Numeric(6, 2, asdecimal=False))  # CAN_NANG
    accident_code: Mapped[str | None] = mapped_column(String(2))  # MA_TAI_NAN
    referred_from: Mapped[str | None] = mapped_column(String(5))  # MA_NOI_DI
    referred_to: Mapped[str | None] = mapped_column(String(5))  # MA_NOI_DEN
    # The card this visit was paid under and what XML1 says of it.
    card_number: Mapped[str | None] = mapped_column(String(15))  # MA_THE_BHYT (first card)
    card_five_years_from: Mapped[dt.date | None]  # NAM_NAM_LIEN_TUC
    card_copay_exempt_from: Mapped[dt.date | None]  # NGAY_MIEN_CCT
    card_area_code: Mapped[str | None] = mapped_column(String(2))  # MA_KHUVUC
    content_hash: Mapped[str] = mapped_column(String(64))
    provenance_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("provenance.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    prescriptions: Mapped[list[Prescription]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="Prescription.id"
    )
    test_results: Mapped[list[TestResult]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="TestResult.id"
    )
    services: Mapped[list[Service]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="Service.id"
    )

    @property
    def secondary_codes(self) -> list[str]:
        return [c for c in (self.secondary_icd10 or "").split(";") if c]

    @property
    def follow_ups(self) -> list[dt.date]:
        return follow_up_days(self.follow_up_dates)


def follow_up_days(stored: str | None) -> list[dt.date]:
    """The appointment dates of `Visit.follow_up_dates`."""
    return [dt.date.fromisoformat(d) for d in (stored or "").split(";") if d]


def stored_follow_ups(days: list[dt.date]) -> str | None:
    return ";".join(d.isoformat() for d in sorted(set(days))) or None


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


class Service(Base):
    """A technical service or supply of the visit (QĐ 130 XML3 CHI_TIET_DVKT)."""

    __tablename__ = "visit_services"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    visit_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("visits.id", ondelete="CASCADE"), index=True
    )
    service_code: Mapped[str | None] = mapped_column(String(50))  # MA_DICH_VU
    group_code: Mapped[str | None] = mapped_column(String(2))  # MA_NHOM
    name: Mapped[str] = mapped_column(String(1024))  # TEN_DICH_VU, else TEN_VAT_TU
    quantity: Mapped[float | None] = mapped_column(Numeric(12, 3, asdecimal=False))  # SO_LUONG
    unit: Mapped[str | None] = mapped_column(String(50))  # DON_VI_TINH
    performed_at: Mapped[dt.datetime | None]  # NGAY_TH_YL, else NGAY_YL
