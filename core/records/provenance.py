"""Where every value came from, and which source may replace which.

Each record row and each demographic field value points to a `Provenance`:
the source, a reference within it (an import run and file, a clinic's visit key,
a chat conversation), when it was received and whether it is verified.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from core.i18n import N_
from core.records.base import Base, BigIntPK, str_enum
from core.values import PartialDate


class Source(enum.StrEnum):
    POPULATION_DB = "population_db"
    SOCIAL_INSURANCE = "social_insurance"
    CLINIC = "clinic_qd130"
    IMMUNIZATION_REGISTRY = "immunization_registry"
    HEALTH_STATION = "health_station"
    SELF_DECLARED = "self_declared"
    VOLUNTEER_ASSISTED = "volunteer_assisted"

    @property
    def is_official(self) -> bool:
        return self not in (Source.SELF_DECLARED, Source.VOLUNTEER_ASSISTED)

    @property
    def label(self) -> str:
        return SOURCE_LABELS[self]


SOURCE_LABELS = {
    Source.POPULATION_DB: N_("National population database"),
    Source.SOCIAL_INSURANCE: N_("Social-insurance roster"),
    Source.CLINIC: N_("Clinic data (QĐ 130/QĐ-BYT)"),
    Source.IMMUNIZATION_REGISTRY: N_("Immunization registry"),
    Source.HEALTH_STATION: N_("Health station staff"),
    Source.SELF_DECLARED: N_("Self-declared"),
    Source.VOLUNTEER_ASSISTED: N_("Entered with a volunteer"),
}

# Which source may replace a value from which. The population database and the
# insurance roster are the legal registers; a health station's approved
# correction stands with them. Clinic and registry data fill gaps but do not
# overrule the registers; what a person declares never replaces an official value.
AUTHORITY = {
    Source.POPULATION_DB: 3,
    Source.SOCIAL_INSURANCE: 3,
    Source.HEALTH_STATION: 3,
    Source.CLINIC: 2,
    Source.IMMUNIZATION_REGISTRY: 2,
    Source.SELF_DECLARED: 1,
    Source.VOLUNTEER_ASSISTED: 1,
}


class Provenance(Base):
    __tablename__ = "provenance"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    source: Mapped[Source] = mapped_column(str_enum(Source))
    reference: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[dt.datetime]
    verified: Mapped[bool]


# Which sources may supply a field at all, where not every source may. The verifying phone
# proves who a person is (core.identity.verification): only the registers and a health
# station that saw the person's ID card in person supply it. A clinic's QĐ 130 file
# (XML1 DIEN_THOAI) often carries a relative's or a companion's number: it is kept as a
# contact (`clinic_phone`) and never verifies anyone.
FIELD_SOURCES: dict[str, frozenset[Source]] = {
    "phone": frozenset({Source.POPULATION_DB, Source.SOCIAL_INSURANCE, Source.HEALTH_STATION}),
    "clinic_phone": frozenset({Source.CLINIC}),
}


def may_supply(field: str, source: Source) -> bool:
    allowed = FIELD_SOURCES.get(field)
    return allowed is None or source in allowed


class Decision(enum.StrEnum):
    SET = "set"              # the field was empty
    REPLACE = "replace"      # a different value from an equal or stronger source
    CONFIRM = "confirm"      # the same value, now from a stronger source
    UNCHANGED = "unchanged"  # the same value from the same or a weaker source
    KEEP = "keep"            # a different value from a weaker source: not applied
    REFUSED = "refused"      # this source may never supply this field (`may_supply`)


def decide(current: object, current_source: Source | None, new: object, new_source: Source) -> Decision:
    """The one rule for a new value of a demographic field.

    A self-declared value never silently replaces an official one (KEEP tells the
    caller so, e.g. to offer a correction request); an official update supersedes
    and the caller keeps the old value in the field history.
    """
    if current is None:
        return Decision.SET
    if isinstance(new, PartialDate) and isinstance(current, PartialDate) and new.vaguer_than(current):
        # A register that knows only the birth year never erases the full date a health
        # station saw on the ID card, as long as the two agree.
        return Decision.UNCHANGED
    weight_now = AUTHORITY[current_source] if current_source else 0
    weight_new = AUTHORITY[new_source]
    if new == current:
        return Decision.CONFIRM if weight_new > weight_now else Decision.UNCHANGED
    return Decision.REPLACE if weight_new >= weight_now else Decision.KEEP
