"""The clinical side of a synthetic Hanoi: immunizations, visits, history.

Visits are `VisitSubmission`s exactly as a clinic would send them (QĐ 130), so
the seed writes them through the same service as the XML importer and can
export them as XML files. Everything here is invented.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from core.i18n import TIMEZONE
from core.records.facility import FacilityKind
from core.records.history import AllergyKind, RiskFactorKind
from core.records.immunization import Programme
from core.records.imports.immunizations import ImmunizationEntry
from core.records.submission import PrescriptionLine, TestLine, VisitSubmission
from core.reference import icd10
from core.reference.vaccines import EPI_SCHEDULE
from core.seed.people import Resident, Town
from core.values import PartialDate, Sex

# --- Immunizations --------------------------------------------------------------


COVID_VACCINES = ("Vaxzevria", "Comirnaty", "Vero Cell", "Spikevax")
COVID_START = dt.date(2021, 7, 15)


def doses_for(rng: random.Random, resident: Resident, town: Town, today: dt.date) -> list[ImmunizationEntry]:
    station = town.station_of[resident.ward.code]
    pid = resident.entry.personal_id
    doses: list[ImmunizationEntry] = []

    def lot() -> str:
        return f"{rng.choice('ABCDEFGHK')}{rng.randrange(100000, 999999)}"

    for scheduled in EPI_SCHEDULE:  # children get the EPI doses due by now, ~95% coverage
        due = scheduled.due_on(resident.born)
        if due > today or resident.born.year < 2012 or rng.random() > 0.95:
            continue
        given = min(today, due + dt.timedelta(days=rng.randrange(0, 21)))
        doses.append(ImmunizationEntry(pid, scheduled.vaccine, scheduled.dose, given, Programme.EPI,
                                       station, lot()))
    age_in_2021 = 2021 - resident.born.year
    if age_in_2021 >= 18 and rng.random() < 0.9:
        vaccine = rng.choice(COVID_VACCINES)
        day = COVID_START + dt.timedelta(days=rng.randrange(0, 90))
        for dose in range(1, rng.choice((2, 3, 3)) + 1):
            doses.append(ImmunizationEntry(pid, vaccine, dose, day, Programme.COVID19, station, lot()))
            day += dt.timedelta(days=rng.randrange(28, 120))
    if age_in_2021 >= 50 and rng.random() < 0.15:
        given = today - dt.timedelta(days=rng.randrange(30, 700))
        doses.append(ImmunizationEntry(pid, "Vaxigrip Tetra", 1, given, Programme.SERVICE, station,
                                       lot()))
    return doses


# --- Visits ----------------------------------------------------------------------

# diagnosis -> (reason for the visit, drugs: name, strength, route, dose, how, quantity, unit);
# the route is a code of the Ministry's list, as clinics send it in XML2 DUONG_DUNG.
TREATMENTS: dict[str, tuple[str, tuple[tuple[str, str, str, str, str, float, str], ...]]] = {
    "J06.9": ("Sốt, ho, sổ mũi 3 ngày", (
        ("Paracetamol", "500mg", "1.01", "1 viên/lần, 3 lần/ngày", "Uống sau ăn, cách nhau 6 giờ",
         15, "Viên"),
        ("Loratadin", "10mg", "1.01", "1 viên/ngày", "Uống buổi tối", 7, "Viên"))),
    "J02.9": ("Đau họng, sốt nhẹ", (
        ("Amoxicilin", "500mg", "1.01", "1 viên/lần, 3 lần/ngày", "Uống sau ăn", 21, "Viên"),
        ("Paracetamol", "500mg", "1.01", "1 viên khi sốt", "Cách nhau ít nhất 6 giờ", 10, "Viên"))),
    "J20.9": ("Ho có đờm một tuần", (
        ("Amoxicilin", "500mg", "1.01", "1 viên/lần, 3 lần/ngày", "Uống sau ăn", 21, "Viên"),
        ("Acetylcystein", "200mg", "1.01", "1 gói/lần, 3 lần/ngày", "Hòa tan trong nước", 15, "Gói"))),
    "A09": ("Tiêu chảy, đau bụng", (
        ("Oresol", "245mg", "1.01", "Pha 1 gói với 200ml nước", "Uống dần sau mỗi lần đi ngoài",
         10, "Gói"),
        ("Diosmectit", "3g", "1.01", "1 gói/lần, 3 lần/ngày", "Uống xa bữa ăn", 9, "Gói"))),
    "A90": ("Sốt cao 2 ngày, đau mỏi người", (
        ("Paracetamol", "500mg", "1.01", "1 viên khi sốt trên 38,5°C", "Cách nhau ít nhất 6 giờ",
         12, "Viên"),
        ("Oresol", "245mg", "1.01", "Pha 1 gói với 200ml nước", "Uống nhiều nước", 10, "Gói"))),
    "K29.7": ("Đau vùng thượng vị", (
        ("Omeprazol", "20mg", "1.01", "1 viên/ngày", "Uống trước ăn sáng 30 phút", 28, "Viên"),)),
    "K21.9": ("Ợ chua, nóng rát sau xương ức", (
        ("Esomeprazol", "40mg", "1.01", "1 viên/ngày", "Uống trước ăn sáng", 28, "Viên"),)),
    "M54.5": ("Đau lưng", (
        ("Meloxicam", "7,5mg", "1.01", "1 viên/ngày", "Uống sau ăn", 10, "Viên"),
        ("Eperison", "50mg", "1.01", "1 viên/lần, 3 lần/ngày", "Uống sau ăn", 30, "Viên"))),
    "N39.0": ("Tiểu buốt, tiểu rắt", (
        ("Ciprofloxacin", "500mg", "1.01", "1 viên/lần, 2 lần/ngày", "Uống nhiều nước", 14, "Viên"),)),
    "L30.9": ("Ngứa, nổi ban đỏ", (
        ("Cetirizin", "10mg", "1.01", "1 viên/ngày", "Uống buổi tối", 10, "Viên"),
        ("Kem Fucicort", "15g", "3.05", "Bôi 2 lần/ngày", "Bôi lớp mỏng", 1, "Tuýp"))),
    "H10.9": ("Đỏ mắt, chảy nước mắt", (
        ("Tobramycin", "0,3%", "6.01", "1 giọt/lần, 4 lần/ngày", "Nhỏ cả hai mắt", 1, "Lọ"),)),
    "K02.9": ("Đau răng", (
        ("Paracetamol", "500mg", "1.01", "1 viên khi đau", "Cách nhau ít nhất 6 giờ", 10, "Viên"),)),
    "Z00.0": ("Khám sức khỏe định kỳ", ()),
    "I10": ("Tái khám tăng huyết áp", (
        ("Amlodipin", "5mg", "1.01", "1 viên/ngày", "Uống buổi sáng", 30, "Viên"),
        ("Losartan", "50mg", "1.01", "1 viên/ngày", "Uống buổi sáng", 30, "Viên"))),
    "E11.9": ("Tái khám đái tháo đường", (
        ("Metformin", "500mg", "1.01", "1 viên/lần, 2 lần/ngày", "Uống trong bữa ăn", 60, "Viên"),
        ("Gliclazid", "30mg", "1.01", "1 viên/ngày", "Uống trước ăn sáng", 30, "Viên"))),
    "E78.5": ("Tái khám rối loạn mỡ máu", (
        ("Atorvastatin", "10mg", "1.01", "1 viên/ngày", "Uống buổi tối", 30, "Viên"),)),
    "I25.9": ("Tức ngực khi gắng sức", (
        ("Aspirin", "81mg", "1.01", "1 viên/ngày", "Uống sau ăn sáng", 30, "Viên"),
        ("Bisoprolol", "2,5mg", "1.01", "1 viên/ngày", "Uống buổi sáng", 30, "Viên"))),
    "J44.9": ("Khó thở, ho kéo dài", (
        ("Budesonid/Formoterol", "160/4,5mcg", "5.02", "1 nhát/lần, 2 lần/ngày", "Súc miệng sau khi hít",
         1, "Bình"),)),
    "J45.9": ("Khò khè, khó thở về đêm", (
        ("Salbutamol", "100mcg/liều", "5.04", "2 nhát khi khó thở", "Không quá 8 nhát/ngày",
         1, "Bình"),)),
    "M17.9": ("Đau khớp gối", (
        ("Glucosamin", "1500mg", "1.01", "1 gói/ngày", "Uống sau ăn", 30, "Gói"),
        ("Meloxicam", "7,5mg", "1.01", "1 viên/ngày", "Uống sau ăn", 10, "Viên"))),
}

# diagnosis -> tests: (name, service code, value low, value high, unit, decimals, normal high)
TESTS: dict[str, tuple[tuple[str, str, float, float, str, int, float], ...]] = {
    "E11.9": (("Glucose máu lúc đói", "23.0075.1494", 5.5, 11.0, "mmol/L", 1, 6.4),
              ("HbA1c", "23.0083.1523", 5.8, 9.5, "%", 1, 6.4)),
    "I10": (("Creatinin máu", "23.0051.1494", 60, 130, "µmol/L", 0, 110),
            ("Cholesterol toàn phần", "23.0041.1506", 3.8, 7.0, "mmol/L", 1, 5.2)),
    "E78.5": (("Cholesterol toàn phần", "23.0041.1506", 4.5, 7.5, "mmol/L", 1, 5.2),
              ("Triglycerid", "23.0158.1506", 1.2, 4.0, "mmol/L", 1, 1.7)),
    "J20.9": (("Số lượng bạch cầu (WBC)", "22.0120.1369", 5.0, 14.0, "G/L", 1, 10.0),),
    "A90": (("Số lượng tiểu cầu (PLT)", "22.0120.1369", 60, 250, "G/L", 0, 450),),
    "N39.0": (("Bạch cầu niệu", "23.0206.1596", 0, 500, "Leu/µL", 0, 10),),
}

CHRONIC_RISK: tuple[tuple[str, int, float], ...] = (
    ("I10", 45, 0.30), ("E11.9", 45, 0.10), ("E78.5", 40, 0.12), ("I25.9", 60, 0.05),
    ("J44.9", 55, 0.04), ("M17.9", 55, 0.12),
)
CHRONIC_CODES = frozenset(code for code, _, _ in CHRONIC_RISK) | {"J45.9"}
ACUTE_CHILD = ("J06.9", "J06.9", "J02.9", "A09", "J20.9", "H10.9", "L30.9", "A90")
ACUTE_ADULT = ("J06.9", "K29.7", "K21.9", "M54.5", "N39.0", "L30.9", "J20.9", "K02.9", "A90",
               "Z00.0", "J02.9")


class VisitFactory:
    def __init__(self, rng: random.Random, town: Town, today: dt.date) -> None:
        self.rng = rng
        self.town = town
        self.today = today
        self.serial: dict[tuple[str, dt.date], int] = {}
        self.stations = town.of_kind(FacilityKind.HEALTH_STATION)
        self.polyclinics = town.of_kind(FacilityKind.POLYCLINIC) + town.of_kind(
            FacilityKind.MEDICAL_CENTRE)
        self.hospitals = town.of_kind(FacilityKind.HOSPITAL)
        self.private = town.of_kind(FacilityKind.PRIVATE_CLINIC)
        self.station_codes = set(town.station_of.values())

    def chronic_codes(self, resident: Resident) -> list[str]:
        age = resident.entry.birth_date.age_on(self.today)
        codes = [code for code, from_age, share in CHRONIC_RISK
                 if age >= from_age and self.rng.random() < share]
        if age < 18 and self.rng.random() < 0.04:
            codes.append("J45.9")
        return codes

    def _when(self, day: dt.date) -> dt.datetime:
        minutes = self.rng.randrange(7 * 60, 16 * 60 + 30)
        return dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tzinfo=TIMEZONE)

    def _key(self, facility: str, day: dt.date) -> str:
        number = self.serial.get((facility, day), 0) + 1
        self.serial[(facility, day)] = number
        return f"{day:%Y%m%d}{number:05d}"

    def visit(self, resident: Resident, code: str, day: dt.date, chronic: list[str]) -> VisitSubmission:
        rng = self.rng
        roll = rng.random()
        if code in CHRONIC_CODES or roll < 0.55:
            facility = self.town.station_of[resident.ward.code]
        elif roll < 0.75:
            facility = rng.choice(self.polyclinics).code
        elif roll < 0.92:
            facility = rng.choice(self.hospitals).code
        else:
            facility = rng.choice(self.private).code
        inpatient = facility.startswith("019") and rng.random() < 0.12 and code not in ("Z00.0",)
        admitted = self._when(day)
        if inpatient:
            discharged = admitted + dt.timedelta(days=rng.randrange(2, 8), hours=rng.randrange(0, 5))
        else:
            discharged = admitted + dt.timedelta(minutes=rng.randrange(25, 180))
        reason, drugs = TREATMENTS[code]
        entry = resident.entry
        submission = VisitSubmission(
            facility_code=facility,
            visit_key=self._key(facility, day),
            admitted_at=admitted,
            personal_id=entry.personal_id,
            card_number=entry.card.number.number if entry.card else None,
            patient_code=f"BN{rng.randrange(10**8):08d}",
            full_name=entry.full_name,
            birth_date=entry.birth_date,
            sex=entry.sex,
            kind_code="03" if inpatient else "01",
            discharged_at=discharged,
            reason=reason,
            diagnosis=icd10.name_of(code),
            primary_icd10=code,
            secondary_icd10=[c for c in chronic if c != code][:2],
            treatment_result="2" if code in CHRONIC_CODES else rng.choice("112"),
        )
        if code in CHRONIC_CODES:
            # A check-up of a long-term illness with its month of medicine (MA_LOAI_KCB 05; a
            # quarter of them medicine collected by appointment, 07): NGAY_RA is the last day
            # the medicine covers, and the next appointment is set for then.
            days = rng.choice((28, 30, 30, 60))
            submission.kind_code = "07" if rng.random() < 0.25 else "05"
            if submission.kind_code == "07":  # collected without an examination: no complaint
                submission.reason = None
            submission.discharged_at = admitted + dt.timedelta(days=days)
            submission.follow_ups = [day + dt.timedelta(days=days)]
        for drug, strength, route, dose, how, quantity, unit in drugs:
            submission.prescriptions.append(PrescriptionLine(
                drug, strength, route, dose, how, float(quantity), unit, admitted))
        if facility in self.station_codes:  # stations send no laboratory results here
            return submission
        for name, service, low, high, unit, decimals, normal_high in TESTS.get(code, ()):
            value = round(rng.uniform(low, high), decimals)
            text = f"{value:.{decimals}f}".replace(".", ",")
            submission.tests.append(TestLine(
                name, service, None, text, unit, None,
                "Cao hơn bình thường" if value > normal_high else "Trong giới hạn bình thường",
                admitted + dt.timedelta(hours=2)))
        return submission

    def visits_for(self, resident: Resident) -> tuple[list[str], list[VisitSubmission]]:
        """Two years of visits: acute illnesses by age, plus check-ups for chronic ones."""
        rng = self.rng
        if resident.entry.status is not None and resident.entry.status.value != "active":
            return [], []
        age = resident.entry.birth_date.age_on(self.today)
        chronic = self.chronic_codes(resident)
        acute_rate = 3.0 if age < 6 else 1.2 if age < 60 else 1.5
        visits: list[VisitSubmission] = []
        acute_count = sum(1 for _ in range(6) if rng.random() < acute_rate / 6)
        for _ in range(acute_count):
            day = self.today - dt.timedelta(days=rng.randrange(1, 730))
            if day < resident.born:
                continue
            pool = ACUTE_CHILD if age < 16 else ACUTE_ADULT
            visits.append(self.visit(resident, rng.choice(pool), day, chronic))
        for code in chronic:
            for _ in range(rng.randrange(2, 5)):
                day = self.today - dt.timedelta(days=rng.randrange(1, 730))
                visit = self.visit(resident, code, day, chronic)  # drawn anyway: the same city
                if day >= resident.born:  # a baby's check-ups start at birth
                    visits.append(visit)
        return chronic, visits


# --- History a health station records (QĐ 831 part 2) ------------------------------


@dataclass(frozen=True)
class HistoryFact:
    personal_id: str
    table: str  # allergies, disabilities, surgeries, family_history, risk_factors
    values: dict[str, object]


ALLERGIES = (
    (AllergyKind.DRUG, "Penicillin", "Nổi mề đay toàn thân"),
    (AllergyKind.DRUG, "Aspirin", "Khó thở"),
    (AllergyKind.FOOD, "Hải sản (tôm, cua)", "Ngứa, phát ban"),
    (AllergyKind.FOOD, "Sữa bò", "Nôn, tiêu chảy"),
    (AllergyKind.OTHER, "Phấn hoa", "Hắt hơi, chảy nước mũi"),
)


def history_for(rng: random.Random, resident: Resident, town: Town, today: dt.date) -> list[HistoryFact]:
    pid = resident.entry.personal_id
    age = resident.entry.birth_date.age_on(today)
    facts: list[HistoryFact] = []
    if rng.random() < 0.06:
        kind, substance, reaction = rng.choice(ALLERGIES)
        facts.append(HistoryFact(pid, "allergies",
                                 {"kind": kind, "substance": substance, "reaction": reaction}))
    if age >= 18 and resident.sex is Sex.MALE and rng.random() < 0.35:
        facts.append(HistoryFact(pid, "risk_factors", {
            "factor": RiskFactorKind.TOBACCO,
            "detail": f"Hút thuốc lá khoảng {rng.choice((5, 10, 20))} điếu/ngày"}))
    if age >= 18 and rng.random() < (0.25 if resident.sex is Sex.MALE else 0.03):
        facts.append(HistoryFact(pid, "risk_factors", {
            "factor": RiskFactorKind.ALCOHOL, "detail": "Uống rượu bia hằng tuần"}))
    if age >= 30 and rng.random() < 0.15:
        facts.append(HistoryFact(pid, "risk_factors", {
            "factor": RiskFactorKind.PHYSICAL_ACTIVITY, "detail": "Ít vận động, dưới 30 phút/ngày"}))
    if rng.random() < 0.01:
        facts.append(HistoryFact(pid, "disabilities", {
            "description": rng.choice(("Khiếm thị một mắt", "Khuyết tật vận động chi dưới",
                                       "Khiếm thính mức độ nhẹ")),
            "since": PartialDate(rng.randrange(max(resident.born.year, 1950), today.year + 1))}))
    if age >= 20 and rng.random() < 0.04:
        options = ["Mổ ruột thừa", "Mổ sỏi túi mật"]
        if resident.sex is Sex.FEMALE and age < 50:
            options.append("Mổ lấy thai")
        if age >= 60:
            options.append("Mổ đục thủy tinh thể")
        year = rng.randrange(max(resident.born.year + 18, 1980), today.year + 1)
        facts.append(HistoryFact(pid, "surgeries", {
            "name": rng.choice(options), "performed_on": PartialDate(year),
            "facility_code": rng.choice(town.of_kind(FacilityKind.HOSPITAL)).code}))
    if rng.random() < 0.10:
        relation, condition, code = rng.choice((
            ("Bố", "Tăng huyết áp", "I10"), ("Mẹ", "Đái tháo đường", "E11"),
            ("Ông nội", "Tai biến mạch máu não", "I64"), ("Mẹ", "Ung thư vú", "C50")))
        facts.append(HistoryFact(pid, "family_history",
                                 {"relation": relation, "condition": condition, "icd10_code": code}))
    return facts
