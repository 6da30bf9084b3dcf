"""Values in QĐ 130/QĐ-BYT XML1 to XML4: times, dates, codes, quantities.

Each reader takes the text of one element and returns the record's value or
raises; `optional_element` turns a failure into a warning that names the element and
never quotes the value (reports must not carry personal or health data).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import cache, lru_cache
from typing import Any, TypeVar

from core import validation as v
from core.i18n import N_, TIMEZONE, Message, today_hanoi
from core.records.visit import Visit
from core.reference.qd130 import AREA_LABELS
from core.values import PartialDate, Sex

T = TypeVar("T")

_REASONLESS = Message(N_("the value is not in the expected form"))


def optional_element(text: str, element: str, validator: Callable[[str], T],
                     warnings: list[Message]) -> T | None:
    """A validated optional value; a bad one is left out with a warning that names the element."""
    if not text:
        return None
    try:
        return validator(text)
    except (v.InvalidValue, ValueError, OverflowError) as error:
        # Reports must not carry personal data: the validator's reason without the value.
        reason = error.report_message if isinstance(error, v.InvalidValue) else _REASONLESS
        warnings.append(Message(N_("{element} left out: {reason}"),
                                {"element": element, "reason": reason}))
        return None


_EARLIEST = dt.datetime(1900, 1, 1, tzinfo=TIMEZONE)
_LATEST = dt.datetime(2200, 1, 1, tzinfo=TIMEZONE)


@lru_cache(maxsize=4096)  # a visit repeats its times (NGAY_VAO, NGAY_YL, NGAY_KQ)
def moment(text: str) -> dt.datetime:
    # QĐ 130/QĐ-BYT: times are yyyymmddHHMM (12 digits), dates yyyymmdd, in Hanoi time;
    # some exporters add seconds (14 digits).
    value = text.strip()
    if not value.isdigit() or len(value) not in (8, 12, 14):
        raise ValueError("not a QĐ 130 time")
    parts = [int(value[i:i + 2]) for i in range(4, len(value), 2)]
    result = dt.datetime(int(value[:4]), *parts, tzinfo=TIMEZONE)  # type: ignore[misc]
    if not _EARLIEST <= result < _LATEST:
        raise ValueError("out of range")
    return result


# A time further ahead of our clock than this is not clock skew: clinics' systems keep
# their own clocks and may write a local time as if it were another zone (hours off); a
# day covers both, and still catches a wrong year or a day and month swapped.
FUTURE_TOLERANCE = dt.timedelta(days=1)


def in_the_future(value: dt.datetime, now: dt.datetime) -> bool:
    return value > now + FUTURE_TOLERANCE


def days(text: str) -> list[dt.date]:
    # QĐ 130, XML1 NGAY_TAI_KHAM: several appointments are separated by `;`; all are kept.
    found = sorted({moment(part).date() for part in text.split(";") if part.strip()})
    if not found:
        raise ValueError("empty")
    return found


def day(text: str) -> dt.date:
    # QĐ 130, XML1 NGAY_MIEN_CCT, NAM_NAM_LIEN_TUC: a date, yyyymmdd.
    return moment(text).date()


def area_code(text: str) -> str:
    # QĐ 130, XML1 MA_KHUVUC: K1, K2 or K3 (core.reference.qd130.AREA_LABELS).
    value = text.strip().upper()
    if value not in AREA_LABELS:
        raise v.InvalidValue(Message(N_("MA_KHUVUC is K1, K2 or K3.")))
    return value


def weight(text: str) -> float:
    # QĐ 130, XML1 CAN_NANG: kilograms, a comma or a dot as the decimal mark.
    value = quantity(text)
    if not 0 < value < 500:
        raise v.InvalidValue(Message(N_("A weight in kilograms is between 0 and 500.")))
    return value


def birth_date(text: str) -> PartialDate:
    # QĐ 130, XML1 NGAY_SINH: yyyymmddHHMM; an unknown day or month is written 00.
    value = text.strip()
    if not value.isdigit() or len(value) not in (4, 6, 8, 12):
        raise ValueError("not a QĐ 130 date")
    year = int(value[:4])
    month = int(value[4:6]) if len(value) >= 6 and value[4:6] != "00" else None
    day = int(value[6:8]) if month is not None and len(value) >= 8 and value[6:8] != "00" else None
    result = PartialDate(year, month, day)
    if year < v.EARLIEST_YEAR or result.earliest() > today_hanoi():
        raise ValueError("out of range")
    return result


def sex_code(text: str) -> Sex:
    # QĐ 130, XML1 GIOI_TINH: 1 male, 2 female, 3 undetermined.
    return Sex(int(text)) if text.isdigit() else v.sex(text)


_ICD10 = re.compile(r"([A-Z][0-9]{2})\.?([0-9A-Z]{0,4})")


def icd10_code(text: str) -> str:
    """`e11.9`, `E119` -> `E11.9` (the WHO edition writes the dot after three characters)."""
    match = _ICD10.fullmatch(text.strip().upper())
    if not match:
        raise v.InvalidValue(Message(N_("An ICD-10 code is a letter, two digits, and an optional "
                                        "subdivision (e.g. E11.9).")))
    head, tail = match.groups()
    return f"{head}.{tail}" if tail else head


def short_code(length: int) -> Callable[[str], str]:
    """A short numeric code (MA_LOAI_KCB, KET_QUA_DTRI), zero-padded to its width."""
    def read(text: str) -> str:
        if not text.isdigit() or len(text.lstrip("0") or "0") > length:
            raise v.InvalidValue(Message(N_("This code must be a number of at most {n} digits."),
                                         {"n": length}))
        return str(int(text)).zfill(length)
    return read


def group_number(text: str) -> str:
    # QĐ 130, XML3 MA_NHOM: the cost group, a number 1-18 (core.reference.qd130).
    if not text.isdigit() or not 0 < int(text) < 100:
        raise v.InvalidValue(Message(N_("MA_NHOM is a number such as 1 or 13.")))
    return str(int(text))


_NUMBER = re.compile(r"[0-9]{1,9}(?:[.,][0-9]+)?")


def quantity(text: str) -> float:
    # Numeric(12, 3) in the record; a comma is a decimal mark in Vietnamese.
    if not _NUMBER.fullmatch(text):
        raise v.InvalidValue(Message(N_("A quantity is a number such as 10 or 2.5.")))
    return float(text.replace(",", "."))


@cache  # a handful of (model, column) pairs, asked for on every line read
def column_length(model: Any, column: str) -> int:
    return model.__table__.c[column].type.length


def bounded(text: str, element: str, length: int, warnings: list[Message]) -> str | None:
    """Free text as sent; cut to what the record holds, with a warning, rather than refused."""
    if not text:
        return None
    if len(text) > length:
        warnings.append(Message(N_("{element} was longer than {n} characters and was cut."),
                                {"element": element, "n": length}))
        return text[:length]
    return text


def whole_number(text: str) -> int:
    if not text.isdigit():
        raise v.InvalidValue(Message(N_("This is not a number.")))
    return int(text)


def first_card(text: str, warnings: list[Message]) -> str | None:
    # QĐ 130, XML1 MA_THE_BHYT: a patient with several cards has them separated by `;`.
    parts = [p.strip() for p in text.split(";") if p.strip()]
    for part in parts:
        try:
            return v.insurance_card(part).number
        except v.InvalidValue:
            continue
    if parts:
        warnings.append(Message(N_("MA_THE_BHYT left out: no valid insurance card number in it.")))
    return None


def secondary_codes(text: str, warnings: list[Message]) -> list[str]:
    # QĐ 130, XML1 MA_BENH_KT: up to twelve codes separated by `;`.
    codes: list[str] = []
    room = column_length(Visit, "secondary_icd10")
    for part in (p for p in text.split(";") if p.strip()):
        code = optional_element(part, "MA_BENH_KT", icd10_code, warnings)
        if code is None or code in codes:
            continue
        if len(";".join([*codes, code])) > room:
            warnings.append(Message(N_("MA_BENH_KT holds more codes than the record keeps; "
                                       "the last ones were left out.")))
            break
        codes.append(code)
    return codes


__all__ = [
    "area_code",
    "birth_date",
    "bounded",
    "column_length",
    "day",
    "days",
    "first_card",
    "group_number",
    "icd10_code",
    "in_the_future",
    "moment",
    "optional_element",
    "quantity",
    "secondary_codes",
    "sex_code",
    "short_code",
    "weight",
    "whole_number",
]
