"""Residents of a synthetic Hanoi, in households, with the roster's details.

Households give children a parent as guardian and make ages and surnames
plausible; wards get a health station each. Deterministic for a given seed.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from dataclasses import dataclass, field

from core.records.facility import FacilityKind
from core.records.imports.facilities import FacilityEntry
from core.records.imports.roster import CardEntry, RosterEntry
from core.reference.provinces import PROVINCE_CODES
from core.reference.wards import Ward, hanoi_wards
from core.seed import names
from core.text import fold
from core.validation import insurance_card
from core.values import BloodGroup, CitizenStatus, PartialDate, Sex

PROVINCES_ELSEWHERE = sorted(PROVINCE_CODES - {"01"})


@dataclass
class Resident:
    entry: RosterEntry
    ward: Ward
    household: int
    born: dt.date  # the real date (the record may know only part of it)

    @property
    def sex(self) -> Sex:
        assert self.entry.sex is not None
        return self.entry.sex


@dataclass
class Town:
    """Facilities by kind and the health station of each ward."""

    facilities: list[FacilityEntry] = field(default_factory=list)
    station_of: dict[str, str] = field(default_factory=dict)

    def of_kind(self, kind: FacilityKind) -> list[FacilityEntry]:
        return [f for f in self.facilities if f.kind is kind]


def build_town(rng: random.Random) -> Town:
    town = Town()
    wards = list(hanoi_wards().values())
    for index, ward in enumerate(wards, start=1):
        code = f"01{index:03d}"
        town.facilities.append(FacilityEntry(code, f"Trạm Y tế {ward.name}",
                                                 FacilityKind.HEALTH_STATION, ward.code))
        town.station_of[ward.code] = code
    for index, area in enumerate(names.POLYCLINIC_AREAS, start=1):
        town.facilities.append(FacilityEntry(f"01{800 + index}",
                                                 f"Phòng khám Đa khoa khu vực {area}",
                                                 FacilityKind.POLYCLINIC, rng.choice(wards).code))
    for index, area in enumerate(names.MEDICAL_CENTRE_AREAS, start=1):
        town.facilities.append(FacilityEntry(f"01{700 + index}", f"Trung tâm Y tế khu vực {area}",
                                                 FacilityKind.MEDICAL_CENTRE, rng.choice(wards).code))
    for code, name in names.HOSPITALS:
        town.facilities.append(FacilityEntry(code, name, FacilityKind.HOSPITAL,
                                                 rng.choice(wards).code))
    for index, name in enumerate(names.PRIVATE_CLINICS, start=1):
        town.facilities.append(FacilityEntry(f"01{600 + index}", name,
                                                 FacilityKind.PRIVATE_CLINIC, rng.choice(wards).code))
    return town


def _weighted(pairs: tuple[tuple[str, float], ...]) -> tuple[list[str], list[float]]:
    values = [p[0] for p in pairs]
    cumulative = list(itertools.accumulate(p[1] for p in pairs))
    return values, cumulative


class PeopleFactory:
    """Makes residents one household at a time; every identifier unique."""

    def __init__(self, rng: random.Random, town: Town, today: dt.date) -> None:
        self.rng = rng
        self.town = town
        self.today = today
        self.wards = list(hanoi_wards().values())
        # Phường (urban wards) are more populous than xã (communes).
        self.ward_weights = list(itertools.accumulate(
            1.4 if w.kind == "phường" else 1.0 for w in self.wards))
        self.family_names = _weighted(names.FAMILY_NAMES)
        self.ethnicities = _weighted(names.ETHNICITY_WEIGHTS)
        self.blood_groups = _weighted(names.BLOOD_WEIGHTS)
        self.ids: set[str] = set()
        self.phones: set[str] = set()
        self.insurance_numbers: set[str] = set()
        self.household = 0

    # --- one person -------------------------------------------------------------

    def _birth(self, age: int) -> dt.date:
        start = dt.date(self.today.year - age - 1, self.today.month, 1) + dt.timedelta(days=1)
        return min(start + dt.timedelta(days=self.rng.randrange(365)), self.today)

    def _personal_id(self, born: dt.date, sex: Sex) -> str:
        province = "01" if self.rng.random() < 0.75 else self.rng.choice(PROVINCES_ELSEWHERE)
        digit = (born.year // 100 - 19) * 2 + (0 if sex is Sex.MALE else 1)
        while True:
            value = f"0{province}{digit}{born.year % 100:02d}{self.rng.randrange(10**6):06d}"
            if value not in self.ids:
                self.ids.add(value)
                return value

    def _phone(self) -> str:
        while True:
            value = self.rng.choice(names.MOBILE_PREFIXES) + f"{self.rng.randrange(10**7):07d}"
            if value not in self.phones:
                self.phones.add(value)
                return "+84" + value[1:]

    def _name(self, family: str, sex: Sex) -> str:
        if sex is Sex.MALE:
            return f"{family} {self.rng.choice(names.MIDDLE_MALE)} {self.rng.choice(names.GIVEN_MALE)}"
        return f"{family} {self.rng.choice(names.MIDDLE_FEMALE)} {self.rng.choice(names.GIVEN_FEMALE)}"

    def _family_name(self) -> str:
        values, weights = self.family_names
        return self.rng.choices(values, cum_weights=weights)[0]

    def _occupation(self, age: int, ward: Ward) -> str | None:
        if age < 6:
            return None
        if age < 18:
            return "Học sinh"
        if age < 23 and self.rng.random() < 0.6:
            return "Sinh viên"
        if age >= 60 and self.rng.random() < 0.7:
            return "Hưu trí"
        pool = names.OCCUPATIONS_URBAN if ward.kind == "phường" else names.OCCUPATIONS_RURAL
        return self.rng.choice(pool)

    def _card(self, age: int, occupation: str | None, born: dt.date, ward: Ward) -> CardEntry | None:
        if self.rng.random() > 0.93:  # about 93% of Hanoi is insured
            return None
        group, level = {
            "Học sinh": ("HS", 4), "Sinh viên": ("SV", 4), "Hưu trí": ("HT", 2),
            "Công chức": ("HC", 4), "Giáo viên": ("HC", 4), "Công nhân": ("DN", 4),
            "Nhân viên văn phòng": ("DN", 4), "Kỹ sư": ("DN", 4), "Kế toán": ("DN", 4),
        }.get(occupation or "", ("GD", 4))
        if age < 6:
            group, level = "TE", 1
        elif age >= 80 and group == "GD":
            group, level = "BT", 2
        while True:
            number = f"01{self.rng.randrange(10**8):08d}"
            if number not in self.insurance_numbers:
                self.insurance_numbers.add(number)
                break
        start = dt.date(self.today.year, 1, 1)
        end = dt.date(self.today.year, 12, 31)
        if group == "TE":  # children's cards run until the day before the 6th birthday
            end = _add_years(born, 6) - dt.timedelta(days=1)
            start = born
        station = self.town.station_of[ward.code]
        if self.rng.random() < 0.25:
            station = self.rng.choice(self.town.of_kind(FacilityKind.POLYCLINIC)).code
        return CardEntry(insurance_card(f"{group}{level}01{number}"), station, start, end)

    def person(self, family: str, sex: Sex, age: int, ward: Ward, address: str) -> Resident:
        rng = self.rng
        born = self._birth(age)
        birth = PartialDate.of(born)
        if born.year < 1945 and rng.random() < 0.3:  # old registers often hold only the year
            birth = PartialDate(born.year) if rng.random() < 0.6 else PartialDate(born.year, born.month)
        entry = RosterEntry(self._personal_id(born, sex), self._name(family, sex), birth, sex=sex)
        values, weights = self.ethnicities
        entry.ethnicity_code = rng.choices(values, cum_weights=weights)[0]
        entry.nationality = "VN"
        entry.occupation = self._occupation(age, ward)
        entry.ward_code = ward.code
        entry.street_address = address
        abo_values, abo_weights = self.blood_groups
        entry.blood_group = BloodGroup(rng.choices(abo_values, cum_weights=abo_weights)[0],
                                       "-" if rng.random() < 0.001 else "+")
        entry.status = CitizenStatus.ACTIVE
        if age > 75 and rng.random() < 0.02:
            entry.status = CitizenStatus.DECEASED
        elif rng.random() < 0.005:
            entry.status = CitizenStatus.MOVED_AWAY
        if age >= 15:
            entry.phone = self._phone()
        if 18 <= age <= 50 and rng.random() < 0.25:
            given = fold(entry.full_name.split()[-1])
            entry.email = f"{given}{fold(family)}{rng.randrange(100, 9999)}@{rng.choice(names.EMAIL_DOMAINS)}"
        entry.card = self._card(age, entry.occupation, born, ward)
        return Resident(entry, ward, self.household, born)

    # --- a household ------------------------------------------------------------------

    def _address(self, ward: Ward) -> str:
        """A house in the household's own ward, named last as a roster's DIA_CHI names it.

        A phường is divided into residential groups (tổ dân phố), a xã into villages (thôn, xóm).
        The draws are the ones the city was made with before, so the same people come out.
        """
        if ward.kind == "phường":
            group = f"tổ dân phố {self.rng.randrange(1, 21)}"
            if self.rng.random() < 0.5:
                house = f"Số {self.rng.randrange(1, 40)}, ngõ {self.rng.randrange(1, 300)}"
            else:
                house = f"Số {self.rng.randrange(1, 400)}"
            return f"{house}, {group}, {ward.name}"
        house = f"Số {self.rng.randrange(1, 120)}"
        return f"{house}, {self.rng.choice(names.RURAL_PLACES)}, {ward.name}"

    def demo_household(self) -> list[Resident]:
        """Three generations under one roof for a newcomer to try families with: a father of 36
        with a phone, the registered guardian of a child of 7, and his mother of 72. Drawn from a
        random source of its own, so every other resident of the city comes out as before."""
        kept, self.rng = self.rng, random.Random("demo household")
        try:
            self.household += 1
            ward = self.wards[0]
            address = self._address(ward)
            family = self._family_name()
            father = self.person(family, Sex.MALE, 36, ward, address)
            child = self.person(family, Sex.FEMALE, 7, ward, address)
            child.entry.guardian_personal_id = father.entry.personal_id
            grandmother = self.person(self._family_name(), Sex.FEMALE, 72, ward, address)
            for member in (father, child, grandmother):
                member.entry.status = CitizenStatus.ACTIVE
            return [father, child, grandmother]
        finally:
            self.rng = kept

    def household_members(self) -> list[Resident]:
        """One household: a young single, a couple, parents with children, elders..."""
        rng = self.rng
        self.household += 1
        ward = self.wards[rng.choices(range(len(self.wards)), cum_weights=self.ward_weights)[0]]
        address = self._address(ward)
        family = self._family_name()
        kind = rng.random()
        members: list[Resident] = []
        # Shares chosen so ages come out near Hanoi's census structure
        # (0-14 about 23%, 15-64 about 68%, 65+ about 9%).
        if kind < 0.20:
            members.append(self.person(family, rng.choice((Sex.MALE, Sex.FEMALE)),
                                       rng.randrange(18, 40), ward, address))
            return members
        elder = 0.75 <= kind < 0.88
        father_age = int(rng.triangular(60, 95, 66)) if elder else rng.randrange(25, 62)
        father = self.person(family, Sex.MALE, father_age, ward, address)
        mother_age = max(18, father_age - rng.randrange(0, 6))
        mother = self.person(self._family_name(), Sex.FEMALE, mother_age, ward, address)
        members += [father, mother]
        if 0.38 <= kind < 0.75 or kind >= 0.88:
            for _ in range(rng.choice((1, 1, 1, 2, 2, 2, 3, 1))):
                age = rng.randrange(0, max(1, min(18, mother_age - 20)))
                child = self.person(family, rng.choice((Sex.MALE, Sex.FEMALE)), age, ward, address)
                guardian = father if rng.random() < 0.6 else mother
                child.entry.guardian_personal_id = guardian.entry.personal_id
                members.append(child)
        if kind >= 0.88:
            grandmother = self.person(self._family_name(), Sex.FEMALE,
                                      min(100, father_age + rng.randrange(22, 35)), ward, address)
            members.append(grandmother)
        return members


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# Details a register may lack; about one resident in six misses at least one.
DROPPABLE = ("ethnicity_code", "ward_code", "street_address", "blood_group", "phone", "occupation")


def leave_gaps(rng: random.Random, residents: list[Resident], share: float = 1 / 6) -> None:
    """Removes one or two details from about `share` of the residents."""
    for resident in residents:
        if rng.random() >= share:
            continue
        entry = resident.entry
        candidates = [f for f in DROPPABLE if getattr(entry, f) is not None]
        for name in rng.sample(candidates, k=min(len(candidates), rng.choice((1, 1, 2)))):
            setattr(entry, name, None)
