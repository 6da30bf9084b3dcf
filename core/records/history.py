"""Medical history and risk factors (QĐ 831/QĐ-BYT, part 2).

Blood group is a demographic field on `Citizen` (it has field provenance and the
citizen may declare it); everything else of part 2 lives here, a row per fact.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.i18n import N_, now_utc
from core.records.base import Base, BigIntPK, str_enum
from core.values import PartialDate


class AllergyKind(enum.StrEnum):
    DRUG = "drug"
    FOOD = "food"
    OTHER = "other"


class RiskFactorKind(enum.StrEnum):
    TOBACCO = "tobacco"
    ALCOHOL = "alcohol"
    DRUGS = "drugs"
    PHYSICAL_ACTIVITY = "physical_activity"
    EXPOSURE = "exposure"
    OTHER = "other"


ALLERGY_KIND_LABELS = {
    AllergyKind.DRUG: N_("Drug"),
    AllergyKind.FOOD: N_("Food"),
    AllergyKind.OTHER: N_("Other"),
}

RISK_FACTOR_LABELS = {
    RiskFactorKind.TOBACCO: N_("Tobacco"),
    RiskFactorKind.ALCOHOL: N_("Alcohol"),
    RiskFactorKind.DRUGS: N_("Drug use"),
    RiskFactorKind.PHYSICAL_ACTIVITY: N_("Physical activity"),
    RiskFactorKind.EXPOSURE: N_("Exposure at work or home"),
    RiskFactorKind.OTHER: N_("Other"),
}


class _HistoryRow:
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("citizens.id", ondelete="CASCADE"), index=True
    )
    provenance_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("provenance.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=now_utc)


class Allergy(_HistoryRow, Base):
    __tablename__ = "allergies"

    kind: Mapped[AllergyKind] = mapped_column(str_enum(AllergyKind))
    substance: Mapped[str] = mapped_column(String(200))
    reaction: Mapped[str | None] = mapped_column(String(200))


class Condition(_HistoryRow, Base):
    """An illness: chronic (ongoing) or past."""

    __tablename__ = "conditions"

    icd10_code: Mapped[str | None] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(300))
    since: Mapped[PartialDate | None]
    chronic: Mapped[bool] = mapped_column(default=False)


class Disability(_HistoryRow, Base):
    __tablename__ = "disabilities"

    description: Mapped[str] = mapped_column(String(300))
    since: Mapped[PartialDate | None]


class Surgery(_HistoryRow, Base):
    __tablename__ = "surgeries"

    name: Mapped[str] = mapped_column(String(300))
    performed_on: Mapped[PartialDate | None]
    facility_code: Mapped[str | None] = mapped_column(String(5))


class FamilyHistory(_HistoryRow, Base):
    __tablename__ = "family_history"

    relation: Mapped[str] = mapped_column(String(50))
    condition: Mapped[str] = mapped_column(String(300))
    icd10_code: Mapped[str | None] = mapped_column(String(10))


class RiskFactor(_HistoryRow, Base):
    __tablename__ = "risk_factors"

    factor: Mapped[RiskFactorKind] = mapped_column(str_enum(RiskFactorKind))
    detail: Mapped[str | None] = mapped_column(String(300))
