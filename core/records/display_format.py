"""How the health book formats each kind of value (the display rules' formatters).

Dates `dd/mm/yyyy`, times in Asia/Ho_Chi_Minh, partial dates `--/mm/yyyy` or the
year, codes shown by their names; all text through the catalogue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from core.i18n import N_, TIMEZONE, Translator, today_hanoi
from core.reference import icd10
from core.reference.ethnicities import ethnicity_by_code
from core.reference.qd130 import BENEFIT_PERCENT, ROUTE_FAMILY_LABELS, ROUTE_LABELS
from core.reference.wards import ward_by_code
from core.validation import phone_national
from core.values import BloodGroup, CitizenStatus, PartialDate, Sex


class BookFormat:
    """What formatters need beyond the value: the language and names of facilities."""

    def __init__(self, translator: Translator, facility_names: Mapping[str, str]) -> None:
        self.t = translator
        self.facility_names = facility_names

    def facility(self, code: str) -> str:
        """A facility by its name; its code only when the record has no name for it."""
        return self.facility_names.get(code) or code


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
    # Mức hưởng, the card's third character: the share of covered costs the fund pays
    # (core.reference.qd130.BENEFIT_PERCENT), shown as the card holder knows it: "80%".
    percent = BENEFIT_PERCENT.get(level)
    if percent is None:
        return fmt.t.text(N_("Level {level}"), level=level)
    return fmt.t.text(N_("{percent}%"), percent=percent)


def as_day(value: dt.datetime, fmt: BookFormat) -> str:
    """The day of a moment, in Hanoi: for a time that means a day (the last medicine day)."""
    return fmt.t.date(value.astimezone(TIMEZONE).date())


def as_valid_to(value: dt.date, fmt: BookFormat) -> str:
    """A card's end date, marked when it has passed."""
    if value < today_hanoi():
        return fmt.t.text(N_("{date} (expired)"), date=fmt.t.date(value))
    return fmt.t.date(value)


def as_appointments(days: list[dt.date], fmt: BookFormat) -> str:
    """Every re-examination date, the next one to come first, then those already past."""
    today = today_hanoi()
    coming = [fmt.t.date(d) for d in sorted(d for d in days if d >= today)]
    past = [fmt.t.text(N_("{date} (passed)"), date=fmt.t.date(d))
            for d in sorted((d for d in days if d < today), reverse=True)]
    return "; ".join(coming + past)


def as_icd10(code: str, fmt: BookFormat) -> str:
    """`Bệnh lý tăng huyết áp vô căn (I10)`: what the code names, then the code the clinic wrote
    (as a facility reads "name (code)"); the code alone when the list has no name for it."""
    name = icd10.name_of(code)
    return f"{name} ({code})" if name else code


def as_icd10_list(codes: list[str], fmt: BookFormat) -> str:
    return "; ".join(as_icd10(code, fmt) for code in codes)


def as_route(value: str, fmt: BookFormat) -> str:
    """XML2 DUONG_DUNG by its name: a known code, else its family; a name sent as text as is."""
    code = value.strip()
    label = ROUTE_LABELS.get(code)
    if label is None and code[:1].isdigit() and code.replace(".", "").isdigit():
        label = ROUTE_FAMILY_LABELS.get(code.split(".")[0], N_("Other route"))
    return fmt.t.gettext(label) if label else value


def as_weight(value: float, fmt: BookFormat) -> str:
    return fmt.t.text(N_("{kg} kg"), kg=fmt.t.number(value))


def as_quantity(value: tuple[float, str | None], fmt: BookFormat) -> str:
    """`30 Viên`: a quantity with the unit the clinic wrote."""
    return " ".join(p for p in (fmt.t.number(value[0]), value[1]) if p)


SEX_LABELS = {Sex.MALE: N_("Male"), Sex.FEMALE: N_("Female"), Sex.UNDETERMINED: N_("Undetermined")}
STATUS_LABELS = {
    CitizenStatus.ACTIVE: N_("Living in Hanoi"),
    CitizenStatus.MOVED_AWAY: N_("Moved away"),
    CitizenStatus.DECEASED: N_("Deceased"),
}
# QĐ 831 part 2 (tiền sử bệnh): an illness is either still treated or part of the person's
# history; no source we take in says an illness was cured, so the book never says so.
CHRONIC_LABELS = {True: N_("Under treatment"), False: N_("History")}
