"""The registry of health facilities (cơ sở khám bệnh, chữa bệnh)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import Connection, ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Database
from core.i18n import N_
from core.records.base import Base, BigIntPK, str_enum
from core.text import fold


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


_FACILITIES = Facility.__table__


@dataclass(frozen=True)
class FacilityName:
    code: str
    name: str


def _names(connection: Connection) -> list[FacilityName]:
    return [FacilityName(code, name) for code, name in
            connection.execute(select(_FACILITIES.c.code, _FACILITIES.c.name).order_by(_FACILITIES.c.name))]


async def station_of_ward(db: Database, ward_code: str) -> str | None:
    """The name of a ward's commune health station, where the ward has one on file."""
    def read(connection: Connection) -> str | None:
        return connection.scalar(select(_FACILITIES.c.name).where(
            _FACILITIES.c.ward_code == ward_code, _FACILITIES.c.kind == FacilityKind.HEALTH_STATION)
            .order_by(_FACILITIES.c.code).limit(1))
    return await db.read(read)


async def search_facilities(db: Database, query: str, limit: int = 6) -> list[FacilityName]:
    """Facilities by part of their name, diacritics optional (`bach mai` finds Bệnh viện Bạch
    Mai), as wards and ethnic groups are found; a name with a word that starts with the query
    first. A citizen does not know a facility's 5-digit code: they know its name."""
    key = fold(query)
    if not key:
        return []
    hits = [(fold(f.name), f) for f in await db.read(_names)]
    found = [(not any(fold(word).startswith(key) for word in _word_starts(f.name)), f.name, f)
             for folded, f in hits if key in folded]
    return [f for *_, f in sorted(found, key=lambda hit: hit[:2])][:limit]


def _word_starts(name: str) -> list[str]:
    """`Trạm Y tế Hoàn Kiếm` -> the name from each word on (`Hoàn Kiếm`, `Kiếm`, ...)."""
    words = name.split()
    return [" ".join(words[i:]) for i in range(len(words))]


async def facility_name(db: Database, code: str) -> str | None:
    return await db.read(lambda connection: connection.execute(
        select(_FACILITIES.c.name).where(_FACILITIES.c.code == code)).scalar())
