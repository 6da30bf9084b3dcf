"""Building records for tests: a fully populated citizen and an empty one."""

from __future__ import annotations

import datetime as dt

from core.db import Database
from core.i18n import TIMEZONE, now_utc
from core.records.citizen import Citizen
from core.records.facility import Facility, FacilityKind
from core.records.history import (
    Allergy,
    AllergyKind,
    Condition,
    Disability,
    FamilyHistory,
    RiskFactor,
    RiskFactorKind,
    Surgery,
)
from core.records.immunization import Immunization, Programme
from core.records.insurance import InsuranceCard
from core.records.provenance import Provenance, Source
from core.records.visit import Prescription, Service, TestResult, Visit, VisitKind
from core.values import BloodGroup, CitizenStatus, PartialDate, Sex

FULL_ID = "001090001234"
GUARDIAN_ID = "001065004321"
EMPTY_ID = "001195007777"


def at(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=TIMEZONE)


async def provenance(db: Database, source: Source, reference: str = "test") -> int:
    async with db.transaction() as session:
        row = Provenance(source=source, reference=reference, received_at=now_utc(),
                         verified=source.is_official)
        session.add(row)
        await session.flush()
        return row.id


async def make_full_record(db: Database, *, self_declared_ethnicity: bool = False) -> int:
    """A citizen with a value in every field of the display catalogue."""
    official = await provenance(db, Source.POPULATION_DB)
    insurance = await provenance(db, Source.SOCIAL_INSURANCE)
    clinic = await provenance(db, Source.CLINIC, "01901/VK1")
    station = await provenance(db, Source.HEALTH_STATION)
    declared = await provenance(db, Source.SELF_DECLARED)
    registry = await provenance(db, Source.IMMUNIZATION_REGISTRY)
    async with db.transaction() as session:
        session.add_all([
            Facility(code="01001", name="Trạm Y tế Phường Hoàn Kiếm",
                     kind=FacilityKind.HEALTH_STATION, ward_code="00070", provenance_id=station),
            Facility(code="01901", name="Bệnh viện Bạch Mai", kind=FacilityKind.HOSPITAL,
                     ward_code="00070", provenance_id=station),
        ])
        guardian = Citizen(personal_id=GUARDIAN_ID, full_name="Trần Văn Bố",
                           birth_date=PartialDate(1965), status=CitizenStatus.ACTIVE,
                           phone="+84913000222", phone_prov=official,
                           full_name_prov=official, birth_date_prov=official)
        session.add(guardian)
        await session.flush()
        citizen = Citizen(
            personal_id=FULL_ID, full_name="Nguyễn Văn An", birth_date=PartialDate(1990, 7, 15),
            sex=Sex.MALE, ethnicity_code="01", nationality="VN", occupation="Kỹ sư",
            phone="+84912345678", email="an.nguyen@example.com", ward_code="00070",
            street_address="Số 12 Phố Hàng Bạc", blood_group=BloodGroup("O", "+"),
            status=CitizenStatus.ACTIVE, guardian_id=guardian.id,
        )
        for name in ("personal_id", "full_name", "birth_date", "sex", "ethnicity_code",
                     "nationality", "occupation", "phone", "email", "ward_code", "street_address",
                     "blood_group", "status", "guardian_id"):
            setattr(citizen, f"{name}_prov", official)
        citizen.clinic_phone, citizen.clinic_phone_prov = "+84987654321", clinic  # XML1 DIEN_THOAI
        if self_declared_ethnicity:
            citizen.ethnicity_code_prov = declared
        session.add(citizen)
        await session.flush()
        cid = citizen.id
        session.add_all([
            InsuranceCard(citizen_id=cid, number="DN4010123456789",
                          social_insurance_number="0123456789", beneficiary_group="DN",
                          benefit_level=4, valid_from=dt.date(2026, 1, 1),
                          valid_to=dt.date(2026, 12, 31), registered_facility_code="01001",
                          provenance_id=insurance),
            Allergy(citizen_id=cid, kind=AllergyKind.DRUG, substance="Penicillin",
                    reaction="Nổi mề đay", provenance_id=declared),
            Condition(citizen_id=cid, icd10_code="I10",
                      name="Bệnh lý tăng huyết áp vô căn (nguyên phát)",
                      since=PartialDate(2019, 3), chronic=True, provenance_id=clinic),
            Disability(citizen_id=cid, description="Khiếm thính nhẹ", since=PartialDate(2001),
                       provenance_id=station),
            Surgery(citizen_id=cid, name="Mổ ruột thừa", performed_on=PartialDate(2010),
                    facility_code="01901", provenance_id=station),
            FamilyHistory(citizen_id=cid, relation="Bố", condition="Tăng huyết áp",
                          icd10_code="I10", provenance_id=station),
            RiskFactor(citizen_id=cid, factor=RiskFactorKind.TOBACCO,
                       detail="10 điếu/ngày", provenance_id=station),
            Immunization(citizen_id=cid, vaccine="Comirnaty", antigens="COVID-19", dose_number=1,
                         given_on=dt.date(2021, 8, 2), facility_code="01001", lot="FG1234",
                         programme=Programme.COVID19, provenance_id=registry),
            Immunization(citizen_id=cid, vaccine="Comirnaty", antigens="COVID-19", dose_number=2,
                         given_on=dt.date(2021, 9, 6), facility_code="01001", lot="FG5678",
                         programme=Programme.COVID19, provenance_id=registry),
        ])
        older = Visit(citizen_id=cid, facility_code="01001", visit_key="V-OLD",
                      kind=VisitKind.OUTPATIENT, kind_code="01", admitted_at=at(2025, 3, 1),
                      discharged_at=at(2025, 3, 1, 10), reason="Sốt", diagnosis="Viêm họng cấp",
                      primary_icd10="J02.9", content_hash="a" * 64, provenance_id=clinic)
        newer = Visit(citizen_id=cid, facility_code="01901", visit_key="V-NEW",
                      kind=VisitKind.OUTPATIENT, kind_code="01", admitted_at=at(2026, 10, 20, 8, 30),
                      discharged_at=at(2026, 10, 20, 11, 5), reason="Tái khám tăng huyết áp",
                      admission_diagnosis="Theo dõi tăng huyết áp",
                      diagnosis="Bệnh lý tăng huyết áp vô căn (nguyên phát)", primary_icd10="I10",
                      secondary_icd10="E78.5;E11.9", treatment_method="Điều trị nội khoa",
                      treatment_result="2", follow_up_dates="2026-11-20", note="Hạn chế muối",
                      weight_kg=62.5, accident_code="1", referred_from="01001",
                      referred_to="01001", card_number="DN4010123456789",
                      card_five_years_from=dt.date(2024, 1, 1),
                      card_copay_exempt_from=dt.date(2026, 6, 1), card_area_code="K1",
                      content_hash="b" * 64, provenance_id=clinic)
        newer.prescriptions.append(Prescription(
            drug="Amlodipin", strength="5mg", route="1.01", dose="1 viên/ngày",
            instructions="Uống buổi sáng", quantity=30, unit="Viên", ordered_at=at(2026, 10, 20)))
        newer.services.append(Service(
            service_code="18.0001.0001", group_code="2", name="Chụp X-quang ngực thẳng",
            quantity=1, unit="Lần", performed_at=at(2026, 10, 20, 9, 10)))
        # One result under each heading XML4 has: by the service's group in XML3, by the
        # chapter of its code, and without a code.
        for code, name, value, unit in (
                ("23.0041.1506", "Cholesterol toàn phần", "5,8", "mmol/L"),
                ("18.0001.0001", "X-quang ngực thẳng", "Không thấy tổn thương", None),
                ("21.0014.1778", "Điện tim thường", "Nhịp xoang 72 lần/phút", None),
                (None, "Nhận xét khác", "Bình thường", None)):
            newer.test_results.append(TestResult(
                service_code=code, indicator_code="CHOL" if unit else None, name=name,
                value=value, unit=unit, description="Máu tĩnh mạch" if unit else "Bóng tim bình thường",
                conclusion="Cao hơn bình thường", resulted_at=at(2026, 10, 20, 10, 15)))
        # Kinds of care whose NGAY_VAO and NGAY_RA mean other things (QĐ 130, MA_LOAI_KCB).
        kinds = [Visit(citizen_id=cid, facility_code="01901", visit_key=f"V-{code}",
                       kind=kind, kind_code=code, admitted_at=at(2024, month, 1),
                       discharged_at=at(2024, month, 28), content_hash=code * 32,
                       provenance_id=clinic)
                 for month, code, kind in ((1, "03", VisitKind.INPATIENT),
                                           (2, "06", VisitKind.INPATIENT),
                                           (3, "07", VisitKind.OUTPATIENT))]
        session.add_all([older, newer, *kinds])
    return cid


async def make_empty_record(db: Database) -> int:
    """A citizen the registers know by name and birth year only."""
    official = await provenance(db, Source.POPULATION_DB)
    async with db.transaction() as session:
        citizen = Citizen(personal_id=EMPTY_ID, full_name="Lê Thị Cúc", birth_date=PartialDate(1995),
                          status=CitizenStatus.ACTIVE, personal_id_prov=official,
                          full_name_prov=official, birth_date_prov=official)
        session.add(citizen)
        await session.flush()
        return citizen.id
