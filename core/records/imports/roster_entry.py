"""One resident as a roster states them: what `roster` reads from a file (and the seed
generates), and `roster_apply` writes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from core import validation as v
from core.i18n import Message
from core.records.citizen import DECLARED_ONLY_FIELDS, DEMOGRAPHIC_FIELDS
from core.values import BloodGroup, CitizenStatus, PartialDate, Sex

# What the registers state about a person: not the guardian (linked once everyone is in),
# the clinic's contact number or what only the person declares.
REGISTER_FIELDS = tuple(name for name in DEMOGRAPHIC_FIELDS
                        if name not in ("guardian_id", "clinic_phone", *DECLARED_ONLY_FIELDS))


@dataclass(frozen=True)
class CardEntry:
    number: v.CardNumber
    registered_facility_code: str | None
    valid_from: dt.date | None
    valid_to: dt.date | None


@dataclass
class RosterEntry:
    """One resident as the registers state them; also what the seed generates."""

    personal_id: str
    full_name: str
    birth_date: PartialDate
    sex: Sex | None = None
    ethnicity_code: str | None = None
    nationality: str | None = None
    occupation: str | None = None
    phone: str | None = None
    email: str | None = None
    ward_code: str | None = None
    street_address: str | None = None
    blood_group: BloodGroup | None = None
    status: CitizenStatus | None = None
    guardian_personal_id: str | None = None
    card: CardEntry | None = None
    line: int | None = None
    warnings: list[Message] = field(default_factory=list)

    def demographics(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in REGISTER_FIELDS}


__all__ = ["REGISTER_FIELDS", "CardEntry", "RosterEntry"]
