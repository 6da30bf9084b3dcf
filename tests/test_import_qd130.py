"""Clinics' QĐ 130/QĐ-BYT checkout files: read, matched to residents, written to the record."""

from __future__ import annotations

import base64
import datetime as dt
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import defusedxml.ElementTree as SafeET
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from core.config import PROJECT_ROOT
from core.consent.access import read_own_book
from core.db import Database
from core.i18n import TIMEZONE, translator
from core.records.citizen import Citizen, FieldChange
from core.records.display_rules import BookGroup
from core.records.history import Condition
from core.records.imports.qd130 import apply_submissions, import_qd130_file, import_qd130_files
from core.records.imports.qd130_format import (
    decode_qd130,
    encode_qd130,
    read_hoso,
    write_qd130_file,
)
from core.records.imports.report import FileUnreadable, ImportReport
from core.records.imports.roster import import_roster
from core.records.operations import ImportRun, QuarantinedSubmission, QuarantineReason
from core.records.provenance import Provenance, Source
from core.records.submission import PrescriptionLine, ServiceLine, TestLine, VisitSubmission
from core.records.visit import Prescription, TestResult, Visit, VisitKind
from core.reference.ethnicities import ethnicities
from core.reference.wards import hanoi_wards
from core.text import clean
from core.values import BloodGroup, PartialDate, Sex

FACILITY = "01001"
AN = "001090001234"  # Nguyễn Văn An, born 1990, male: on the roster with blood group A+
BINH = "001190005678"  # Trần Thị Bình, born 1990, female: on the roster, no blood group
AN_CARD = "DN4010123456789"
BINH_CARD = "HT3010000000002"
STRANGER = "001085000111"  # a valid personal ID nobody on the roster has
ARRIVED = dt.datetime(2025, 3, 5, 8, 30, tzinfo=TIMEZONE)


async def _roster(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(
        "so_dinh_danh,ho_ten,ngay_sinh,gioi_tinh,nhom_mau,ma_the_bhyt\n"
        f"{AN},Nguyễn Văn An,15/07/1990,Nam,A+,{AN_CARD}\n"
        f"{BINH},Trần Thị Bình,02/01/1990,Nữ,,{BINH_CARD}\n",
        encoding="utf-8",
    )
    report = await import_roster(db, path)
    assert report.created == 2, report.problems


def _visit(key: str = "LK-2025-0001", **changes: object) -> VisitSubmission:
    visit = VisitSubmission(
        facility_code=FACILITY,
        visit_key=key,
        admitted_at=ARRIVED,
        personal_id=AN,
        card_number=AN_CARD,
        full_name="Nguyễn Văn An",
        birth_date=PartialDate(1990, 7, 15),
        kind_code="01",
        discharged_at=ARRIVED + dt.timedelta(hours=1),
        reason="Đau đầu",
        diagnosis="Tăng huyết áp",
        primary_icd10="I10",
        secondary_icd10=["J02.9"],
        treatment_result="2",
        follow_ups=[dt.date(2025, 4, 5)],
        prescriptions=[
            PrescriptionLine("Amlodipin", "5mg", "Uống", "1 viên/ngày", "Uống sau ăn sáng", 30.0,
                             "viên", ARRIVED),
            PrescriptionLine("Paracetamol", "500mg", quantity=10.0, unit="viên"),
        ],
        tests=[TestLine("Glucose máu", "23.0010.1494", "GLU", "6.1", "mmol/L",
                        resulted_at=ARRIVED + dt.timedelta(minutes=20))],
    )
    for name, value in changes.items():
        setattr(visit, name, value)
    return visit


def _written(tmp_path: Path, name: str, visits: list[VisitSubmission]) -> Path:
    path = tmp_path / name
    write_qd130_file(path, FACILITY, visits, ARRIVED + dt.timedelta(hours=2))
    return path


async def _import(db: Database, tmp_path: Path, visits: list[VisitSubmission],
                  name: str = "checkout.xml") -> ImportReport:
    return await import_qd130_file(db, _written(tmp_path, name, visits))


async def _count(db: Database, model: type, *where: object) -> int:
    async with db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def _citizen(db: Database, personal_id: str) -> Citizen:
    async with db.sessions() as session:
        citizen = await session.scalar(select(Citizen).where(Citizen.personal_id == personal_id))
    assert citizen is not None
    return citizen


# --- Hand-written files, as clinic software really sends them --------------------

def _b64(inner: str | bytes, line_length: int = 0, newline: str = "\n") -> str:
    data = inner.encode("utf-8") if isinstance(inner, str) else inner
    text = base64.b64encode(data).decode("ascii")
    if line_length:
        text = newline.join(text[i:i + line_length] for i in range(0, len(text), line_length))
    return text


def _tong_hop(**fields: str) -> str:
    return "<TONG_HOP>" + "".join(f"<{k}>{v}</{k}>" for k, v in fields.items()) + "</TONG_HOP>"


def _hoso(*tables: tuple[str, str]) -> str:
    return "<HOSO>" + "".join(
        f"<FILEHOSO><LOAIHOSO>{kind}</LOAIHOSO><NOIDUNGFILE>{content}</NOIDUNGFILE></FILEHOSO>"
        for kind, content in tables) + "</HOSO>"


def _envelope(*hosos: str, count: int | None = None) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><GIAMDINHHS><THONGTINDONVI><MACSKCB>'
        f"{FACILITY}</MACSKCB></THONGTINDONVI><THONGTINHOSO><NGAYLAP>20250305</NGAYLAP>"
        f"<SOLUONGHOSO>{len(hosos) if count is None else count}</SOLUONGHOSO><DANHSACHHOSO>"
        + "".join(hosos) + "</DANHSACHHOSO></THONGTINHOSO><CHUKYDONVI/></GIAMDINHHS>"
    ).encode("utf-8")


_PEOPLE = {AN: ("Nguyễn Văn An", "199007150000"), BINH: ("Trần Thị Bình", "199001020000")}


def _good_hoso(key: str, personal_id: str = AN) -> str:
    name, born = _PEOPLE[personal_id]
    return _hoso(("XML1", _b64(_tong_hop(MA_LK=key, SO_CCCD=personal_id, HO_TEN=name, NGAY_SINH=born,
                                         NGAY_VAO="202503050830", MA_CSKCB=FACILITY))))


def _binh(key: str, **changes: object) -> VisitSubmission:
    """A visit of Trần Thị Bình, as her clinic writes it."""
    return _visit(key, **{"personal_id": BINH, "card_number": BINH_CARD, "full_name": "Trần Thị Bình",
                          "birth_date": PartialDate(1990, 1, 2), **changes})


# --- The citizen sees the visit ---------------------------------------------------


async def test_clinic_visit_appears_in_the_citizens_health_book(db: Database, tmp_path: Path) -> None:
    await _roster(db, tmp_path)
    report = await _import(db, tmp_path, [_visit()])
    assert (report.read, report.created, report.rejected, report.quarantined) == (1, 1, 0, 0)

    an = await _citizen(db, AN)
    book = await read_own_book(db, an.id, locale="en",
                                   only=[BookGroup.VISITS])
    assert book is not None
    visits = book.sections[0].lists[0]
    assert len(visits.entries) == 1
    visit = visits.entries[0]
    assert visit.title == "05/03/2025 · 01001"
    rows = {row.key: row.value for row in visit.rows}
    assert rows["visits.kind"] == "Medical examination"  # MA_LOAI_KCB 01
    assert rows["visits.arrived"] == "08:30 05/03/2025"
    assert rows["visits.finished"] == "09:30 05/03/2025"
    assert rows["visits.diagnosis"] == "Tăng huyết áp"
    assert rows["visits.primary_icd10"] == "Bệnh lý tăng huyết áp vô căn (nguyên phát) (I10)"
    assert rows["visits.secondary_icd10"] == "Viêm họng cấp, không đặc hiệu (J02.9)"
    assert rows["visits.treatment_result"] == "Improved"  # KET_QUA_DTRI 2
    assert rows["visits.follow_up"] == "05/04/2025 (passed)"

    drugs, tests = visit.lists
    assert [e.title for e in drugs.entries] == ["Amlodipin 5mg", "Paracetamol 500mg"]
    amlodipin = {row.key: row.value for row in drugs.entries[0].rows}
    assert amlodipin["visits.medicines.quantity"] == "30 viên"
    assert amlodipin["visits.medicines.instructions"] == "Uống sau ăn sáng"
    glucose = {row.key.rsplit(".", 1)[1]: row.value for row in tests.entries[0].rows}
    assert glucose["value"] == "6.1 mmol/L"
    assert glucose["time"] == "08:50 05/03/2025"

    async with db.sessions() as session:
        stored = await session.scalar(select(Visit))
        provenance = await session.get(Provenance, stored.provenance_id)
    assert stored.kind is VisitKind.OUTPATIENT and stored.kind_code == "01"
    assert provenance.source is Source.CLINIC
    assert provenance.reference == "01001/LK-2025-0001"
    assert provenance.verified is True


async def test_resending_the_same_visit_changes_nothing(db: Database, tmp_path: Path) -> None:
    await _roster(db, tmp_path)
    await _import(db, tmp_path, [_visit()])
    before = [await _count(db, m) for m in (Visit, Prescription, TestResult, Provenance,
                                             FieldChange, Condition)]

    again = await _import(db, tmp_path, [_visit()], name="checkout-again.xml")

    assert (again.read, again.created, again.updated, again.unchanged) == (1, 0, 0, 1)
    after = [await _count(db, m) for m in (Visit, Prescription, TestResult, Provenance,
                                            FieldChange, Condition)]
    assert after == before
    assert await _count(db, ImportRun) == 3  # the roster and both files are recorded


async def test_resent_visit_with_new_content_replaces_the_old_one(db: Database,
                                                                 tmp_path: Path) -> None:
    await _roster(db, tmp_path)
    await _import(db, tmp_path, [_visit()])
    corrected = _visit(diagnosis="Viêm họng cấp", primary_icd10="J02.9", secondary_icd10=[],
                       prescriptions=[PrescriptionLine("Amoxicillin", "500mg", quantity=21.0)],
                       tests=[])

    report = await _import(db, tmp_path, [corrected], name="correction.xml")

    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    async with db.sessions() as session:
        visits = (await session.scalars(select(Visit))).all()
        drugs = (await session.scalars(select(Prescription.drug))).all()
    assert len(visits) == 1
    assert (visits[0].diagnosis, visits[0].primary_icd10, visits[0].secondary_icd10) == (
        "Viêm họng cấp", "J02.9", None)
    assert drugs == ["Amoxicillin"]
    assert await _count(db, TestResult) == 0


# --- Nothing is lost --------------------------------------------------------------


async def test_visit_for_unknown_person_is_quarantined_not_lost(
        db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    await _roster(db, tmp_path)
    caplog.set_level("DEBUG", logger="core")
    stranger = _visit("LK-X", personal_id=STRANGER, card_number=None, full_name="Lê Văn Cường",
                      birth_date=PartialDate(1985, 1, 1))

    report = await _import(db, tmp_path, [stranger])
    again = await _import(db, tmp_path, [stranger], name="again.xml")

    assert (report.created, report.quarantined) == (0, 1)
    assert again.quarantined == 1
    async with db.sessions() as session:
        kept = (await session.scalars(select(QuarantinedSubmission))).all()
    assert len(kept) == 1  # the second import found the same submission already waiting
    row = kept[0]
    assert (row.reason, row.facility_code, row.visit_key) == (
        QuarantineReason.NO_MATCHING_CITIZEN, FACILITY, "LK-X")
    assert row.detail["msgid"].startswith("No resident on the record has")
    assert read_hoso(SafeET.fromstring(row.payload), 1, None).submission == stranger
    assert await _count(db, Visit) == 0
    rendered = "\n".join(report.render(translator("en")))
    for secret in (STRANGER, "Lê Văn Cường", "Tăng huyết áp", "Amlodipin"):
        assert secret not in rendered
        assert secret not in caplog.text

    # The roster catches up; the clinic's next send is taken in and the quarantine settled.
    (tmp_path / "late.csv").write_text(
        f"so_dinh_danh,ho_ten,ngay_sinh\n{STRANGER},Lê Văn Cường,01/01/1985\n", encoding="utf-8")
    await import_roster(db, tmp_path / "late.csv")
    late = await _import(db, tmp_path, [stranger], name="third.xml")
    assert (late.created, late.quarantined) == (1, 0)
    assert await _count(db, QuarantinedSubmission, QuarantinedSubmission.resolved_at.is_(None)) == 0


async def test_broken_base64_table_rejects_only_that_record(db: Database, tmp_path: Path) -> None:
    await _roster(db, tmp_path)
    broken = _hoso(("XML1", "PFRPTkdfSE9QPjxNQV9MSz4=!!not base64!!"))
    path = tmp_path / "mixed.xml"
    path.write_bytes(_envelope(_good_hoso("LK-1"), broken, _good_hoso("LK-3", BINH)))

    report = await import_qd130_file(db, path)

    assert (report.read, report.created, report.rejected) == (3, 2, 1)
    [problem] = [p for p in report.problems if p.rejected]
    assert problem.where == "mixed.xml, HOSO 2"
    assert problem.message.params["reason"].msgid == "The {table} table is not valid base64."
    assert problem.message.params["reason"].params == {"table": "XML1"}
    async with db.sessions() as session:
        kept = await session.scalar(select(QuarantinedSubmission))
    assert kept.reason is QuarantineReason.UNREADABLE
    assert b"!!not base64!!" in kept.payload
    assert kept.detail == {"msgid": "The {table} table is not valid base64.",
                           "params": {"table": "XML1"}}


@pytest.mark.parametrize(("hoso", "where", "reason"), [
    (_hoso(("XML1", _b64("<TONG_HOP><MA_LK>LK-9</MA_LK>"))), "HOSO 1",
     "The {table} table is not well-formed XML (line {line}, column {column})."),
    (_hoso(("XML2", _b64("<CHITIEU_CHITIET_THUOC/>"))), "HOSO 1",
     "The record has no XML1 table (the visit summary)."),
    (_hoso(("XML1", _b64(_tong_hop(SO_CCCD=AN, NGAY_VAO="202503050830")))), "HOSO 1",
     "The XML1 table has no MA_LK (the visit key)."),
    (_hoso(("XML1", _b64(_tong_hop(MA_LK="LK-9", SO_CCCD=AN)))), "HOSO 1, MA_LK LK-9",
     "NGAY_VAO (the arrival time) is missing."),
    (_hoso(("XML1", _b64(_tong_hop(MA_LK="LK-9", NGAY_VAO="2025-03-05")))), "HOSO 1, MA_LK LK-9",
     "NGAY_VAO (the arrival time) is not a time written as year, month, day, hour and minute "
     "(for example 202503050830)."),
    (_hoso(("XML1", _b64(_tong_hop(MA_LK="LK-9", NGAY_VAO="202503050830"))),
           ("XML2", _b64("<CHI_TIET_THUOC>"))), "HOSO 1, MA_LK LK-9",
     "The {table} table is not well-formed XML (line {line}, column {column})."),
])
def test_an_unreadable_record_is_named_with_its_reason(hoso: str, where: str, reason: str) -> None:
    [record] = decode_qd130(_envelope(hoso)).records()
    assert record.submission is None
    assert record.place("f.xml") == f"f.xml, {where}"
    assert record.problem is not None and record.problem.msgid == reason


@pytest.mark.parametrize("content", [
    b"so_dinh_danh,ho_ten,ngay_sinh\n001090001234,An,1990\n",
    b"",
    b'<?xml version="1.0"?><HOADON><SO>1</SO></HOADON>',
    b'<?xml version="1.0"?><!DOCTYPE g [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
    b"<GIAMDINHHS>&b;</GIAMDINHHS>",
])
async def test_file_that_is_not_xml_cannot_be_read(db: Database, tmp_path: Path,
                                                   content: bytes) -> None:
    path = tmp_path / "upload.xml"
    path.write_bytes(content)
    with pytest.raises(FileUnreadable):
        await import_qd130_file(db, path)
    assert await _count(db, ImportRun) == 0


# --- Real files vary ----------------------------------------------------------------


def test_bom_cdata_crlf_and_nfd_text_are_read_correctly() -> None:
    nfd = unicodedata.normalize("NFD", "Tăng huyết áp vô căn")
    assert nfd != "Tăng huyết áp vô căn"
    xml1 = (
        "\ufeff<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<TONG_HOP>\r\n"
        "  <NGAY_RA></NGAY_RA>\r\n"  # empty elements mean "not sent"
        f"  <CHAN_DOAN_RV><![CDATA[{nfd} <kiểm soát kém> & cần theo dõi]]></CHAN_DOAN_RV>\r\n"
        "  <MA_BENH_KT> E11.9 ;k29.7;;</MA_BENH_KT>\r\n"
        "  <NGAY_VAO>202503050830</NGAY_VAO>\r\n"  # after other fields: order is not fixed
        "  <MA_LK>LK-CRLF</MA_LK>\r\n  <SO_CCCD>001 090 001 234</SO_CCCD>\r\n"
        "  <MA_BENH_CHINH>i10</MA_BENH_CHINH>\r\n  <NHOM_MAU>O+</NHOM_MAU>\r\n"
        "  <GIOI_TINH>1</GIOI_TINH>\r\n  <NGAY_SINH>199007150000</NGAY_SINH>\r\n"
        "  <MA_LOAI_KCB>1</MA_LOAI_KCB>\r\n  <MA_CSKCB/>\r\n"
        "</TONG_HOP>\r\n"
    ).encode()
    xml2 = (
        "<CHITIEU_CHITIET_THUOC><DSACH_CHI_TIET_THUOC><CHI_TIET_THUOC>"
        f"<SO_LUONG>10,5</SO_LUONG><TEN_THUOC>{unicodedata.normalize('NFD', 'Siro ho Bảo Thanh')}"
        "</TEN_THUOC><MA_LK>LK-CRLF</MA_LK></CHI_TIET_THUOC></DSACH_CHI_TIET_THUOC>"
        "</CHITIEU_CHITIET_THUOC>"
    )
    hoso = _hoso(("XML1", _b64(xml1, 76, "\r\n")), ("XML3", _b64("<ignored/>")), ("XML2", _b64(xml2)))
    data = b"\xef\xbb\xbf" + _envelope(hoso).replace(b"><", b">\r\n<")

    parsed = decode_qd130(data)
    [record] = parsed.records()

    assert record.problem is None and record.warnings == []
    visit = record.submission
    assert visit is not None
    assert visit.diagnosis == "Tăng huyết áp vô căn <kiểm soát kém> & cần theo dõi"
    assert unicodedata.is_normalized("NFC", visit.diagnosis)
    assert (visit.visit_key, visit.personal_id, visit.facility_code) == ("LK-CRLF", AN, FACILITY)
    assert visit.admitted_at == dt.datetime(2025, 3, 5, 1, 30, tzinfo=dt.UTC)
    assert visit.discharged_at is None
    assert (visit.primary_icd10, visit.secondary_icd10) == ("I10", ["E11.9", "K29.7"])
    assert (visit.blood_group, visit.sex, visit.birth_date) == (
        BloodGroup("O", "+"), Sex.MALE, PartialDate(1990, 7, 15))
    assert visit.kind_code == "01"
    assert [(p.drug, p.quantity) for p in visit.prescriptions] == [("Siro ho Bảo Thanh", 10.5)]
    assert visit.tests == []


def test_bad_optional_values_are_left_out_with_a_note_that_quotes_no_personal_data() -> None:
    xml1 = _tong_hop(MA_LK="LK-B", NGAY_VAO="202503050830", SO_CCCD="999", MA_DANTOC="Klingon",
                     DIEN_THOAI="024 3825 1234", MAXA_CU_TRU="99999", NHOM_MAU="Z",
                     GIOI_TINH="9", MA_THE_BHYT="XX999;YY", NGAY_RA="202503040800",
                     MA_BENH_CHINH="hypertension", MA_LOAI_KCB="123")
    [record] = decode_qd130(_envelope(_hoso(("XML1", _b64(xml1))))).records()

    visit = record.submission
    assert visit is not None
    assert (visit.personal_id, visit.ethnicity_code, visit.phone, visit.ward_code,
            visit.blood_group, visit.sex, visit.card_number, visit.discharged_at,
            visit.primary_icd10, visit.kind_code) == (None,) * 10
    t = translator("en")
    notes = [m.render(t) for m in record.warnings]
    assert len(notes) == 10
    named = {"SO_CCCD", "MA_DANTOC", "DIEN_THOAI", "MAXA_CU_TRU", "NHOM_MAU", "GIOI_TINH",
             "MA_THE_BHYT", "NGAY_RA", "MA_BENH_CHINH", "MA_LOAI_KCB"}
    assert {next(n for n in named if note.startswith(n)) for note in notes} == named
    for secret in ("Klingon", "3825", "99999", "XX999", "hypertension"):
        assert not any(secret in note for note in notes)


async def test_visit_matched_by_insurance_card_when_no_personal_id(db: Database,
                                                                  tmp_path: Path) -> None:
    await _roster(db, tmp_path)
    # Several cards, `;`-separated: the first valid one (Bình's) names the patient.
    xml1 = _tong_hop(MA_LK="LK-CARD", NGAY_VAO="202503050830", MA_CSKCB=FACILITY,
                     HO_TEN="TRẦN THỊ BÌNH", NGAY_SINH="19900102",
                     MA_THE_BHYT=f"XX123;{BINH_CARD};{AN_CARD}")
    path = tmp_path / "card.xml"
    path.write_bytes(_envelope(_hoso(("XML1", _b64(xml1)))))

    report = await import_qd130_file(db, path)

    assert report.created == 1
    binh = await _citizen(db, BINH)
    async with db.sessions() as session:
        visit = await session.scalar(select(Visit))
    assert visit.citizen_id == binh.id


async def test_card_of_someone_else_with_an_unknown_personal_id_is_quarantined(
        db: Database, tmp_path: Path) -> None:
    await _roster(db, tmp_path)
    report = await _import(db, tmp_path, [_visit(personal_id=STRANGER, card_number=AN_CARD)])
    assert (report.created, report.quarantined) == (0, 1)
    async with db.sessions() as session:
        kept = await session.scalar(select(QuarantinedSubmission))
    assert kept.detail["msgid"].startswith("The personal ID is not on the record and the")


# --- What the clinic adds to the record -------------------------------------------------


async def test_clinic_blood_group_fills_an_empty_field_but_never_overrides_the_register(
        db: Database, tmp_path: Path) -> None:
    await _roster(db, tmp_path)
    an_before = await _citizen(db, AN)
    visits = [
        _visit("LK-AN", blood_group=BloodGroup("O", "+")),
        _binh("LK-BINH", blood_group=BloodGroup("B", "-"), phone="+84912345678"),
    ]

    await _import(db, tmp_path, visits)

    an, binh = await _citizen(db, AN), await _citizen(db, BINH)
    assert an.blood_group == BloodGroup("A", "+")
    assert an.blood_group_prov == an_before.blood_group_prov
    # The clinic's number is kept as its contact number, never as the one that verifies.
    assert (binh.blood_group, binh.clinic_phone, binh.phone) == (BloodGroup("B", "-"), "+84912345678",
                                                                 None)
    async with db.sessions() as session:
        source = await session.scalar(select(Provenance.source).where(
            Provenance.id == binh.blood_group_prov))
    assert source is Source.CLINIC
    assert await _count(db, FieldChange) == 0  # a filled gap had no earlier value to keep

    # A later clinic visit corrects the clinic's own value: the earlier one goes to history.
    await _import(db, tmp_path, [
        _visit("LK-AN-2", blood_group=BloodGroup("AB", "-")),
        _binh("LK-BINH-2", blood_group=BloodGroup("B", "+")),
    ], name="later.xml")
    an, binh = await _citizen(db, AN), await _citizen(db, BINH)
    assert (an.blood_group, binh.blood_group) == (BloodGroup("A", "+"), BloodGroup("B", "+"))
    async with db.sessions() as session:
        changes = (await session.execute(select(FieldChange.citizen_id, FieldChange.field,
                                                FieldChange.old_value, FieldChange.new_value))).all()
    assert changes == [(binh.id, "blood_group", "B-", "B+")]


async def test_chronic_diagnosis_adds_a_condition_once(db: Database, tmp_path: Path) -> None:
    await _roster(db, tmp_path)
    first = _visit("LK-1", primary_icd10="I10", secondary_icd10=["E11.9", "J02.9"])
    later = _visit("LK-2", admitted_at=ARRIVED + dt.timedelta(days=30), primary_icd10="I10",
                   secondary_icd10=[])

    await _import(db, tmp_path, [later])  # the newer visit happens to arrive first
    await _import(db, tmp_path, [first], name="older.xml")
    await _import(db, tmp_path, [first, later], name="resent.xml")

    async with db.sessions() as session:
        conditions = (await session.scalars(select(Condition).order_by(Condition.icd10_code))).all()
        first_prov = await session.scalar(select(Visit.provenance_id).where(Visit.visit_key == "LK-1"))
    assert [(c.icd10_code, c.chronic, c.since) for c in conditions] == [
        ("E11.9", True, PartialDate(2025, 3, 5)), ("I10", True, PartialDate(2025, 3, 5))]
    assert conditions[1].name == "Bệnh lý tăng huyết áp vô căn (nguyên phát)"
    assert {c.provenance_id for c in conditions} == {first_prov}


async def test_generated_submissions_go_in_like_a_file(db: Database, tmp_path: Path) -> None:
    await _roster(db, tmp_path)
    report = ImportReport("seed")
    await apply_submissions(db, [_visit("S-1"), _visit("S-2", personal_id=STRANGER, card_number=None)],
                            "seed", report, None)
    assert (report.read, report.created, report.quarantined) == (2, 1, 1)
    async with db.sessions() as session:
        kept = await session.scalar(select(QuarantinedSubmission))
    # The quarantine keeps a QĐ 130 HOSO even for a generated submission.
    assert read_hoso(SafeET.fromstring(kept.payload), 1, None).submission.visit_key == "S-2"

    total = await import_qd130_files(db, [_written(tmp_path, "a.xml", [_visit("S-1")]),
                                          _written(tmp_path, "b.xml", [_visit("S-3")])])
    assert (total.read, total.unchanged, total.created) == (2, 1, 1)


# --- The operator's commands --------------------------------------------------------


def _cli(args: list[str], database: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{database}", "EHR_LANG": "en"}
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_operator_imports_xml_and_reviews_the_quarantine(tmp_path: Path) -> None:
    database = tmp_path / "cli.sqlite3"
    assert _cli(["migrate"], database).returncode == 0
    roster = tmp_path / "roster.csv"
    roster.write_text(f"so_dinh_danh,ho_ten,ngay_sinh\n{AN},Nguyễn Văn An,15/07/1990\n",
                      encoding="utf-8")
    assert _cli(["import-roster", str(roster)], database).returncode == 0
    good = _written(tmp_path, "01001_20250305.xml",
                    [_visit("LK-1"), _visit("LK-2", personal_id=STRANGER, card_number=None)])
    not_xml = tmp_path / "notes.xml"
    not_xml.write_text("this is not a checkout file", encoding="utf-8")

    done = _cli(["import-xml", str(good)], database)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == (
        "01001_20250305.xml: read 2, created 1, updated 0, unchanged 0, rejected 0, quarantined 1")

    refused = _cli(["import-xml", str(not_xml), str(good)], database)
    assert refused.returncode == 2
    assert refused.stderr.startswith("notes.xml: The file is not well-formed XML")
    assert "01001_20250305.xml: read 2, created 0, updated 0, unchanged 1" in refused.stdout

    listing = _cli(["quarantine"], database)
    assert listing.returncode == 0, listing.stderr
    header, row = listing.stdout.splitlines()
    assert header.split("\t") == ["Id", "Received", "File", "Facility", "MA_LK", "Reason"]
    cells = row.split("\t")
    assert cells[0] == "1"
    assert cells[1] == dt.datetime.now(TIMEZONE).strftime("%d/%m/%Y")
    assert cells[2:5] == ["01001_20250305.xml", "01001", "LK-2"]
    assert cells[5].startswith("No matching resident: No resident on the record has")
    assert STRANGER not in listing.stdout


# --- The format round trip ------------------------------------------------------------

_XML_SAFE = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Cn"))
# Text as the record stores it (core.text.clean: no invisible characters, NFC, spaces folded).
_text = st.text(_XML_SAFE, min_size=1, max_size=40).map(clean).filter(bool)
_maybe_text = st.none() | _text
_moments = st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2025, 12, 31)).map(
    lambda d: d.replace(second=0, microsecond=0, tzinfo=TIMEZONE))
_birth = st.tuples(st.dates(dt.date(1920, 1, 1), dt.date(2024, 12, 31)),
                   st.sampled_from(["year", "month", "day"])).map(
    lambda p: PartialDate(p[0].year, None if p[1] == "year" else p[0].month,
                          p[0].day if p[1] == "day" else None))
_icd10 = st.from_regex(r"[A-Z][0-9]{2}(\.[0-9A-Z]{1,3})?", fullmatch=True)
_quantity = st.decimals(0, 99_999, places=3, allow_nan=False).map(float)

_drug = st.builds(PrescriptionLine, _text, _maybe_text, _maybe_text, _maybe_text, _maybe_text,
                  st.none() | _quantity, _maybe_text, st.none() | _moments)
_service = st.builds(ServiceLine, _text, _maybe_text, st.none() | st.integers(1, 18).map(str),
                     st.none() | _quantity, _maybe_text, st.none() | _moments)
_day = st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31))
_facility = st.from_regex(r"01[0-9]{3}", fullmatch=True)
_test = st.builds(TestLine, _text, _maybe_text, _maybe_text, _maybe_text, _maybe_text,
                  _maybe_text, _maybe_text, st.none() | _moments)


@st.composite
def _submissions(draw: st.DrawFn) -> VisitSubmission:
    admitted = draw(_moments)
    return VisitSubmission(
        facility_code=draw(_facility),
        visit_key=draw(st.from_regex(r"[A-Za-z0-9_.-]{1,40}", fullmatch=True)),
        admitted_at=admitted,
        personal_id=draw(st.none() | st.from_regex(r"0(01|79|31)[0-5][0-9]{8}", fullmatch=True)),
        card_number=draw(st.none() | st.from_regex(r"(DN|HT|TE)[1-5](01|79)[0-9]{10}",
                                                  fullmatch=True)),
        patient_code=draw(_maybe_text),
        full_name=draw(_maybe_text),
        birth_date=draw(st.none() | _birth),
        sex=draw(st.none() | st.sampled_from(Sex)),
        blood_group=draw(st.none() | st.builds(BloodGroup, st.sampled_from(BloodGroup.ABO_GROUPS),
                                                 st.sampled_from([None, "+", "-"]))),
        ethnicity_code=draw(st.none() | st.sampled_from(sorted(ethnicities()))),
        phone=draw(st.none() | st.from_regex(r"\+84[35789][0-9]{8}", fullmatch=True)),
        address=draw(_maybe_text),
        ward_code=draw(st.none() | st.sampled_from(sorted(hanoi_wards()))),
        kind_code=draw(st.none() | st.sampled_from([f"{n:02d}" for n in range(1, 11)])),
        discharged_at=draw(st.none() | st.integers(0, 60 * 24 * 30).map(
            lambda m: admitted + dt.timedelta(minutes=m))),
        reason=draw(_maybe_text),
        admission_diagnosis=draw(_maybe_text),
        diagnosis=draw(_maybe_text),
        primary_icd10=draw(st.none() | _icd10),
        secondary_icd10=draw(st.lists(_icd10, max_size=5, unique=True)),
        treatment_method=draw(_maybe_text),
        treatment_result=draw(st.none() | st.sampled_from("1234567")),
        follow_ups=sorted(draw(st.lists(_day, max_size=3, unique=True))),
        note=draw(_maybe_text),
        weight_kg=draw(st.none() | st.decimals("0.1", "250", places=2).map(float)),
        accident_code=draw(st.none() | st.sampled_from("012345678")),
        referred_from=draw(st.none() | _facility),
        referred_to=draw(st.none() | _facility),
        card_five_years_from=draw(st.none() | _day),
        card_copay_exempt_from=draw(st.none() | _day),
        card_area_code=draw(st.none() | st.sampled_from(["K1", "K2", "K3"])),
        prescriptions=draw(st.lists(_drug, max_size=3)),
        services=draw(st.lists(_service, max_size=3)),
        tests=draw(st.lists(_test, max_size=3)),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_submissions(), max_size=4), _moments)
def test_a_file_written_for_the_seed_reads_back_the_same(submissions: list[VisitSubmission],
                                                         created: dt.datetime) -> None:
    parsed = decode_qd130(encode_qd130(FACILITY, submissions, created))
    records = list(parsed.records())
    assert [(r.problem, r.warnings) for r in records] == [(None, [])] * len(submissions)
    assert [r.submission for r in records] == submissions
    assert (parsed.facility_code, parsed.created_on, parsed.declared_count) == (
        FACILITY, created.date(), len(submissions))


def test_a_utf16_file_without_a_byte_order_mark_is_refused_not_a_crash() -> None:
    from core.records.imports.qd130_format import decode_qd130

    data = '<?xml version="1.0" encoding="utf-16-le"?><GIAMDINHHS/>'.encode("utf-16-le")
    with pytest.raises(FileUnreadable) as error:
        decode_qd130(data)
    assert "UTF-8" in error.value.message.render(translator("en"))
