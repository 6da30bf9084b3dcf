"""The registry of health facilities (cơ sở khám bệnh, chữa bệnh)."""

from __future__ import annotations

import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.i18n import N_
from core.records.base import Base, BigIntPK, str_enum


class FacilityKind(enum.StrEnum):
    HEALTH_STATION = "health_station"
    POLYCLINIC = "polyclinic"
    MEDICAL_CENTRE = "medical_centre"
    HOSPITAL = "hospital"
    PRIVATE_CLINIC = "private_clinic"


FACILITY_KIND_LABELS = {
    FacilityKind.HEALTH_STATION: N_("Commune health station"),
    FacilityKind.POLYCLINIC: N_("Polyclinic"),
    FacilityKind.MEDICAL_CENTRE: N_("District medical centre"),
    FacilityKind.HOSPITAL: N_("Hospital"),
    FacilityKind.PRIVATE_CLINIC: N_("Private clinic"),
}


class Facility(Base):
    __tablename__ = "facilities"

    # QĐ 130: MA_CSKCB, 5 digits, the first two the province.
    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[FacilityKind] = mapped_column(str_enum(FacilityKind))
    ward_code: Mapped[str | None] = mapped_column(String(5), index=True)
    provenance_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("provenance.id"))
