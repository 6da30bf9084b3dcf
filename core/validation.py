"""One validator per identifier, shared by the importers and the chat flows.

Each validator takes what a person or a file gave and returns the normalised
value, or raises `InvalidValue` carrying a catalogue message that says exactly
what is wrong. The formats are in DOMAIN.md ("believed": keep each rule here,
once, so it is easy to correct). Invisible characters (`core.text.drop_invisible`)
never change the answer: what is stored is what was seen.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

from core.i18n import N_, Message, today_hanoi
from core.reference.ethnicities import find_ethnicity
from core.reference.provinces import PROVINCE_CODES
from core.reference.wards import ward_by_code
from core.text import BIDI_CONTROLS, clean, drop_invisible, fold, nfc
from core.values import BloodGroup, CitizenStatus, PartialDate, Sex

EARLIEST_YEAR = 1900


class InvalidValue(ValueError):
    """A refused value, with what is wrong said for two readers.

    `message` answers the person who typed it and may quote it back ("31/02/1990 is not
    a real date."): they see their own input. `report_message` says as specifically what
    is wrong without the value, for import reports an operator reads and keeps (Decree
    13/2023/NĐ-CP: no personal data where it is not needed). A message that quotes
    nothing serves both; a validator that quotes its input must give the other.
    """

    def __init__(self, message: Message, report_message: Message | None = None) -> None:
        super().__init__(message.msgid)
        self.message = message
        self.report_message = message if report_message is None else report_message


class UnreadableDate(InvalidValue):
    """A date that could not be read at all (not a wrong day, a wrong shape): a flow answers it
    with its own question, which shows an example the person's phone can type."""


def _fail(msgid: str, report: str | None = None, **params: object) -> InvalidValue:
    """`report`: the same reason without the quoted value (no parameters of its own)."""
    return InvalidValue(Message(msgid, params), Message(report) if report is not None else None)


def _typed(text: str | None) -> str:
    """What was typed, without invisible characters (a number pasted from a phone's
    contacts often comes wrapped in bidi marks) and without surrounding white space."""
    return drop_invisible(text or "").strip()


# --- Personal ID (số định danh cá nhân) -------------------------------------

_PERSONAL_ID = re.compile(r"[0-9]{12}")


def personal_id(text: str) -> str:
    """12 digits: province of birth (3), sex and century (1), birth year (2), serial (6)."""
    # Nearly every value of a file is 12 plain digits already: nothing to take out of it.
    value = text if text and _PERSONAL_ID.fullmatch(text) else re.sub(r"[\s.-]", "", _typed(text))
    if not value:
        raise _fail(N_("The personal ID is missing."))
    if not _PERSONAL_ID.fullmatch(value):
        raise _fail(N_("The personal ID must be exactly 12 digits."))
    if value[0] != "0" or value[1:3] not in PROVINCE_CODES:
        raise _fail(N_("The personal ID does not start with a valid province code."))
    return value


def personal_id_century_and_sex(value: str) -> tuple[int, Sex]:
    # Digit 4: 0/1 male/female born 1900-1999, 2/3 in 2000-2099, 4/5 in 2100-2199.
    digit = int(value[3])
    century = 1900 + (digit // 2) * 100
    return century + int(value[4:6]), Sex.MALE if digit % 2 == 0 else Sex.FEMALE


def personal_id_disagreement(value: str, sex: Sex | None,
                             birth: PartialDate | None) -> InvalidValue | None:
    """Whether the ID's sex and birth-year digits disagree with the record.

    Returned, not raised: the record stands and the disagreement is noted.
    """
    if int(value[3]) > 5:
        return _fail(N_("The personal ID has an impossible sex and century digit."))
    year, id_sex = personal_id_century_and_sex(value)
    if birth is not None and birth.year != year:
        return _fail(N_("The personal ID says born in {year}, the record says {recorded}."),
                     N_("The birth year in the personal ID differs from the date of birth."),
                     year=year, recorded=birth.year)
    if sex in (Sex.MALE, Sex.FEMALE) and sex != id_sex:
        return _fail(N_("The personal ID and the recorded sex disagree."))
    return None


def personal_id_conflict(value: str, sex: Sex | None, birth: PartialDate | None) -> Message | None:
    """The disagreement as the person reads it in their own book (it names the years)."""
    found = personal_id_disagreement(value, sex, birth)
    return found.message if found is not None else None


# --- Health insurance card (thẻ BHYT) ----------------------------------------

_CARD = re.compile(r"([A-Z]{2})([1-5])([0-9]{2})([0-9]{10})")
# BHXH of the Ministry of Defence (97) and of Public Security (98) issue cards too (believed).
_CARD_PROVINCES = PROVINCE_CODES | {"97", "98"}


@dataclass(frozen=True)
class CardNumber:
    number: str
    beneficiary_group: str
    benefit_level: int
    province: str
    social_insurance_number: str


def insurance_card(text: str) -> CardNumber:
    """15 characters: group (2 letters), benefit level (1-5), province (2), BHXH number (10)."""
    match = _CARD.fullmatch(text) if text else None  # as printed: nothing to take out of it
    value = text
    if match is None:
        value = re.sub(r"[\s.-]", "", _typed(text)).upper()
        match = _CARD.fullmatch(value)
    if not value:
        raise _fail(N_("The insurance card number is missing."))
    if not match:
        # Plain words: the parts' names (benefit level, BHXH number) are not on the card's face.
        raise _fail(N_("The insurance card number has 2 letters, then 13 digits, as printed on "
                       "the card."))
    group, level, province, number = match.groups()
    if province not in _CARD_PROVINCES:
        raise _fail(N_("The insurance card number has an unknown province code {code}."),
                    N_("The insurance card number has an unknown province code."),
                    code=province)
    return CardNumber(value, group, int(level), province, number)


# --- Facility code (mã cơ sở KCB) ---------------------------------------------

_FACILITY = re.compile(r"[0-9]{5}")


@lru_cache(maxsize=4096)  # few distinct values, a million rows
def facility_code(text: str) -> str:
    value = _typed(text)
    if not _FACILITY.fullmatch(value):
        raise _fail(N_("A facility code must be 5 digits."))
    if value[:2] not in PROVINCE_CODES:
        raise _fail(N_("The facility code does not start with a valid province code."))
    return value


# --- Phone --------------------------------------------------------------------

_MOBILE = re.compile(r"0[35789][0-9]{8}")


def phone(text: str) -> str:
    """A Vietnamese mobile number, normalised to `+84…` (0 replaced by +84)."""
    if text and _MOBILE.fullmatch(text):  # ten plain digits, as a file mostly writes it
        return "+84" + text[1:]
    value = re.sub(r"[\s().-]", "", _typed(text))
    if value.startswith("+84"):
        value = "0" + value[3:]
    elif value.startswith("84") and len(value) == 11:
        value = "0" + value[2:]
    if not _MOBILE.fullmatch(value):
        raise _fail(N_("A mobile number has 10 digits and starts with 03, 05, 07, 08 or 09."))
    return "+84" + value[1:]


def phone_national(value: str) -> str:
    """`+84912345678` -> `0912 345 678`, as people write it."""
    local = "0" + value[3:] if value.startswith("+84") else value
    return f"{local[:4]} {local[4:7]} {local[7:]}"


# --- Places and people --------------------------------------------------------

@lru_cache(maxsize=4096)  # few distinct values, a million rows
def ward_code(text: str) -> str:
    """A current Hanoi ward: 5 digits with leading zeros (`70` is read as `00070`)."""
    value = _typed(text)
    if not value.isdigit() or len(value) > 5:
        raise _fail(N_("A ward code is a number of up to 5 digits."))
    code = value.zfill(5)
    if ward_by_code(code) is None:
        raise _fail(N_("Ward code {code} is not one of Hanoi's 126 current wards and communes."),
                    N_("The ward code is not one of Hanoi's 126 current wards and communes."),
                    code=code)
    return code


_NAME = re.compile(r"[^\W\d_]+(?:['’ -][^\W\d_]+)*")


@lru_cache(maxsize=16384)  # a roster of 100,000 has about 19,000 names
def full_name(text: str) -> str:
    # Invisible characters are dropped, as in any text, but a name with a bidi embedding,
    # override or isolate is refused: those reorder what is shown, so the name the person
    # saw is not the one that would be stored, and a name identifies them (matched against
    # the registers and clinics' files, read out at reception).
    if text and not BIDI_CONTROLS.isdisjoint(text):
        raise _fail(N_("The full name contains characters that change the direction of the "
                       "text. Please type it again."),
                    N_("The full name contains characters that change the direction of the text."))
    value = clean(text)
    if not value:
        raise _fail(N_("The full name is missing."))
    if len(value) > FULL_NAME_LENGTH:
        raise _fail(N_("This name is too long: a full name has at most {n} characters."),
                    n=FULL_NAME_LENGTH)
    if not _NAME.fullmatch(value):
        raise _fail(N_("A full name has only letters and spaces."))
    return _capitalised(value)


FULL_NAME_LENGTH = 100
RELATION_LENGTH = 30


def relation(text: str) -> str:
    """How an emergency contact is related (`con dâu`): a few words of letters, NFC."""
    value = clean(text)
    if len(value) > RELATION_LENGTH:
        raise _fail(N_("This is too long: say the relation in a few words (at most {n} "
                       "characters), for example daughter-in-law."), n=RELATION_LENGTH)
    if len(value) < 2 or not _NAME.fullmatch(value):
        raise _fail(N_("Say the relation in words, for example daughter-in-law."))
    return value
_NAME_PART = re.compile(r"[^\W\d_]+")


def _capitalised(name: str) -> str:
    """`nguyễn văn an` -> `Nguyễn Văn An`: each word typed all in lower case gets its capital, as
    Vietnamese names are written; a word with a capital already (`H'Hen`, `McDonald`, a register's
    capitals) stays as it was typed. NFC in, NFC out."""
    def capital(match: re.Match[str]) -> str:
        word = match.group(0)
        return word[0].upper() + word[1:] if word.islower() else word

    return nfc(_NAME_PART.sub(capital, name))


def _check_past(value: dt.date, what: Message) -> None:
    if value.year < EARLIEST_YEAR:
        raise _fail(N_("{what} cannot be before {year}."), what=what, year=EARLIEST_YEAR)
    if value > today_hanoi():
        raise _fail(N_("{what} cannot be in the future."), what=what)


_DATE_LABEL = Message(N_("The date"))


def partial_date(text: str, what: Message = _DATE_LABEL) -> PartialDate:
    """`dd/mm/yyyy`, `mm/yyyy` or `yyyy` (also with `-` or `.`), not before 1900, not in the future.

    `UnreadableDate` when the text is no date at all."""
    result = partial_date_any(text, what)
    _check_past(result.earliest(), what)
    return result


def calendar_date(text: str, *, past_only: bool = True, what: Message = _DATE_LABEL,
                  compact: bool = False) -> dt.date:
    """A full `dd/mm/yyyy` date; card validity may lie in the future (`past_only=False`).

    `compact`: also `ddmmyyyy`, as typed on a phone keypad that has no slash (USSD).
    """
    value = _typed(text)
    if compact and _COMPACT_DATE.fullmatch(value):
        value = f"{value[:2]}/{value[2:4]}/{value[4:]}"
    result = partial_date_any(value, what)
    if not result.is_full:
        raise UnreadableDate(Message(N_("Write the whole date: day, month and year, for example "
                                        "05/09/1960.")))
    day = result.earliest()
    if past_only:
        _check_past(day, what)
    elif day.year < EARLIEST_YEAR:
        raise _fail(N_("{what} cannot be before {year}."), what=what, year=EARLIEST_YEAR)
    return day


_DAY_MONTH_YEAR = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_COMPACT_DATE = re.compile(r"[0-9]{8}")


def _not_a_real_date(value: str, what: Message) -> InvalidValue:
    return InvalidValue(Message(N_("{date} is not a real date."), {"date": value}),
                        Message(N_("{what} is not a real date."), {"what": what}))


# What `_read_date` answers when a text is no date: no date at all, or no real day.
_UNREADABLE = "unreadable"
_NOT_REAL = "not real"


@lru_cache(maxsize=16384)  # a file repeats its dates: birth dates, card periods
def _read_date(value: str) -> PartialDate | str:
    """The date `value` (as typed: `_typed`) writes, `_UNREADABLE` or `_NOT_REAL`.
    A `PartialDate` is immutable: one object serves every row with the same date."""
    if match := _DAY_MONTH_YEAR.fullmatch(value):  # the common case, fast
        day, month, year = match.groups()
        numbers = [int(year), int(month), int(day)]
    else:
        parts = re.split(r"[/.-]", value) if value else []
        # isdecimal, not isdigit: `²` is a digit to str.isdigit() but int() refuses it;
        # decimal digits are exactly those int() reads.
        if not parts or not all(p.isdecimal() for p in parts) or len(parts) > 3 \
                or len(parts[-1]) != 4:
            return _UNREADABLE
        numbers = [int(p) for p in reversed(parts)]
    try:
        return PartialDate(*numbers)
    except ValueError:
        return _NOT_REAL


def partial_date_any(text: str, what: Message = _DATE_LABEL) -> PartialDate:
    """A date as people write it, with no rule about when it may lie."""
    value = _typed(text)
    found = _read_date(value)
    if found is _UNREADABLE:
        raise UnreadableDate(Message(N_("Write the date as day/month/year, for example 05/09/1960; "
                                        "or month/year, or the year alone.")))
    if found is _NOT_REAL:
        raise _not_a_real_date(value, what)
    assert isinstance(found, PartialDate)
    return found


_SEX_WORDS = {
    "1": Sex.MALE, "nam": Sex.MALE, "male": Sex.MALE, "m": Sex.MALE,
    "2": Sex.FEMALE, "nu": Sex.FEMALE, "female": Sex.FEMALE, "f": Sex.FEMALE,
    "3": Sex.UNDETERMINED, "chuaxacdinh": Sex.UNDETERMINED, "khongxacdinh": Sex.UNDETERMINED,
}


@lru_cache(maxsize=4096)  # few distinct values, a million rows
def sex(text: str) -> Sex:
    found = _SEX_WORDS.get(fold(text or ""))
    if found is None:
        raise _fail(N_("Sex must be Nam or Nữ (or 1, 2, 3)."))
    return found


_BLOOD = re.compile(r"(AB|A|B|O)?\s*(?:RH)?\s*([+-]|POS|NEG|DUONG|AM)?")


@lru_cache(maxsize=4096)  # few distinct values, a million rows
def blood_group(text: str) -> BloodGroup:
    """`O+`, `AB-`, `A Rh+`, `B Rh−`; the ABO group alone when Rh is not known, or the Rh
    factor alone (`Rh+`, `Rh(-)`, `Rh dương`) when only it was tested."""
    value = clean(text).upper().replace("−", "-").replace("0", "O")
    value = value.replace("(", "").replace(")", "")
    value = fold(value).upper() if not value.endswith(("+", "-")) else value.replace(" ", "")
    match = _BLOOD.fullmatch(value)
    if not match or not any(match.groups()):
        raise _fail(N_("A blood group is A, B, AB or O, with Rh+ or Rh− if known."))
    abo, rh = match.groups()
    rh_sign = {"+": "+", "POS": "+", "DUONG": "+", "-": "-", "NEG": "-", "AM": "-"}.get(rh or "")
    return BloodGroup(abo, rh_sign)


@lru_cache(maxsize=4096)  # few distinct values, a million rows
def ethnicity(text: str) -> str:
    found = find_ethnicity(clean(text))
    if found is None:
        raise _fail(N_("{value} is not one of the 54 ethnic groups."),
                    N_("The ethnic group is not one of the 54 groups of Việt Nam."),
                    value=clean(text))
    return found.code


_VIETNAM = frozenset({"vn", "vnm", "704", "vietnam", "conghoaxahoichunghiavietnam"})


@lru_cache(maxsize=4096)  # few distinct values, a million rows
def nationality(text: str) -> str:
    """An ISO 3166 alpha-2 code; `Việt Nam`, `VN`, `VNM` all mean `VN`."""
    from babel import Locale

    value = clean(text)
    key = fold(value)
    if key in _VIETNAM:
        return "VN"
    if len(value) == 2 and value.upper() in Locale("en").territories:
        return value.upper()
    for locale in ("vi", "en"):
        for code, name in Locale(locale).territories.items():
            if len(code) == 2 and fold(name) == key:
                return code
    raise _fail(N_("{value} is not a known nationality."),
                N_("The nationality is not a known country."), value=value)


_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


def email(text: str) -> str:
    value = _typed(text)
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise _fail(N_("An email address looks like name@example.com."))
    return value.lower()


_STATUS_WORDS = {
    "": CitizenStatus.ACTIVE, "active": CitizenStatus.ACTIVE, "dangcutru": CitizenStatus.ACTIVE,
    "chuyendi": CitizenStatus.MOVED_AWAY, "movedaway": CitizenStatus.MOVED_AWAY,
    "tuvong": CitizenStatus.DECEASED, "deceased": CitizenStatus.DECEASED,
}


@lru_cache(maxsize=4096)  # few distinct values, a million rows
def citizen_status(text: str) -> CitizenStatus:
    found = _STATUS_WORDS.get(fold(text or ""))
    if found is None:
        raise _fail(N_("Status must be empty, chuyen_di or tu_vong."))
    return found


def free_text(text: str, max_length: int = 500) -> str:
    """An address, occupation, relation or reason: invisible characters dropped, including
    bidi controls (what is left is every character the person typed), white space folded."""
    value = clean(text)
    if len(value) > max_length:
        raise _fail(N_("This text is too long (at most {n} characters)."), n=max_length)
    return value
