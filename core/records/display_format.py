"""How the health book formats each kind of value (the display rules' formatters).

Dates `dd/mm/yyyy`, times in Asia/Ho_Chi_Minh, partial dates `--/mm/yyyy` or the
year, codes shown by their names; all text through the catalogue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from core.i18n import N_, Translator
from core.reference.ethnicities import ethnicity_by_code
from core.reference.wards import ward_by_code
from core.validation import phone_national
from core.values import BloodGroup, CitizenStatus, PartialDate, Sex


class BookFormat:
    """What formatters need beyond the value: the language and names of facilities."""

    def __init__(self, translator: Translator, facility_names: Mapping[str, str]) -> None:
        self.t = translator
        self.facility_names = facility_names

    def facility(self, code: str) -> str:
        name = self.facility_names.get(code)
        return f"{name} ({code})" if name else code


Formatter = Callable[[Any, BookFormat], str]


# --- Formatters -----------------------------------------------------------------

def as_text(value: Any, fmt: BookFormat) -> str:
    return str(value)


def as_date(value: dt.date, fmt: BookFormat) -> str:
    return fmt.t.date(value)


def as_partial_date(value: PartialDate, fmt: BookFormat) -> str:
    return value.display()


def as_moment(value: dt.datetime, fmt: BookFormat) -> str:
    return fmt.t.datetime(value)


def as_sex(value: Sex, fmt: BookFormat) -> str:
    return fmt.t.gettext(SEX_LABELS[Sex(value)])


def as_blood_group(value: BloodGroup, fmt: BookFormat) -> str:
    return value.display()


def as_ethnicity(code: str, fmt: BookFormat) -> str:
    found = ethnicity_by_code(code)
    return found.name if found else code


def as_nationality(code: str, fmt: BookFormat) -> str:
    return fmt.t.territory(code)


def as_phone(value: str, fmt: BookFormat) -> str:
    return phone_national(value)


def as_ward(code: str, fmt: BookFormat) -> str:
    ward = ward_by_code(code)
    return ward.name if ward else code


def as_facility(code: str, fmt: BookFormat) -> str:
    return fmt.facility(code)


def as_number(value: float, fmt: BookFormat) -> str:
    return fmt.t.number(value)


def labelled(labels: Mapping[Any, str]) -> Formatter:
    def format_label(value: Any, fmt: BookFormat) -> str:
        label = labels.get(value)
        return fmt.t.gettext(label) if label else str(value)

    return format_label


def as_benefit_level(level: int, fmt: BookFormat) -> str:
    # Mức hưởng 1-5 of the card; the share paid depends on the level (Luật BHYT).
    return fmt.t.text(N_("Level {level}"), level=level)


SEX_LABELS = {Sex.MALE: N_("Male"), Sex.FEMALE: N_("Female"), Sex.UNDETERMINED: N_("Undetermined")}
STATUS_LABELS = {
    CitizenStatus.ACTIVE: N_("Living in Hanoi"),
    CitizenStatus.MOVED_AWAY: N_("Moved away"),
    CitizenStatus.DECEASED: N_("Deceased"),
}
CHRONIC_LABELS = {True: N_("Chronic"), False: N_("Past")}
