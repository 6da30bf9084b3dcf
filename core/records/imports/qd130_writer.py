"""Writing QĐ 130/QĐ-BYT checkout files, as a clinic's system sends them.

The synthetic city exports its visits with these, the quarantine keeps a
generated visit in this form, and `qd130_format.decode_qd130` reads back
exactly what is written here (the round trip is a property test).
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from xml.etree.ElementTree import Element, SubElement, tostring

from core.i18n import TIMEZONE
from core.records.submission import VisitSubmission
from core.values import BloodGroup, PartialDate

ROOT = "GIAMDINHHS"
XML1, XML2, XML3, XML4 = "XML1", "XML2", "XML3", "XML4"

# Characters XML 1.0 cannot carry at all; a writer that let them through would make
# a file no clinic system (nor this reader) accepts.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def format_moment(value: dt.datetime) -> str:
    """QĐ 130 time: yyyymmddHHMM in Hanoi time."""
    return value.astimezone(TIMEZONE).strftime("%Y%m%d%H%M")


def _format_birth(value: PartialDate) -> str:
    return f"{value.year:04d}{value.month or 0:02d}{value.day or 0:02d}0000"


def _format_quantity(value: float) -> str:
    # The shortest text that reads back as the same float, without exponent notation.
    return format(Decimal(repr(value)), "f")


def _national_phone(value: str) -> str:
    return "0" + value[3:] if value.startswith("+84") else value


def _text(value: object) -> str:
    if value is None:
        return ""
    return _NOT_XML.sub("", str(value))


def _table(root_name: str, rows: list[tuple[str, object]]) -> Element:
    root = Element(root_name)
    for name, value in rows:
        SubElement(root, name).text = _text(value)
    return root


def _xml1(s: VisitSubmission) -> Element:
    return _table("TONG_HOP", [
        ("MA_LK", s.visit_key),
        ("STT", 1),
        ("MA_BN", s.patient_code),
        ("HO_TEN", s.full_name),
        ("SO_CCCD", s.personal_id),
        ("NGAY_SINH", _format_birth(s.birth_date) if s.birth_date else None),
        ("GIOI_TINH", int(s.sex) if s.sex is not None else None),
        ("NHOM_MAU", s.blood_group.code() if isinstance(s.blood_group, BloodGroup) else None),
        ("MA_DANTOC", s.ethnicity_code),
        ("DIA_CHI", s.address),
        ("MATINH_CU_TRU", s.ward_code and "01"),  # the ward codes we keep are Hanoi's
        ("MAXA_CU_TRU", s.ward_code),
        ("DIEN_THOAI", _national_phone(s.phone) if s.phone else None),
        ("MA_THE_BHYT", s.card_number),
        ("NAM_NAM_LIEN_TUC", _day(s.card_five_years_from)),
        ("NGAY_MIEN_CCT", _day(s.card_copay_exempt_from)),
        ("MA_KHUVUC", s.card_area_code),
        ("LY_DO_VV", s.reason),
        ("CHAN_DOAN_VAO", s.admission_diagnosis),
        ("CHAN_DOAN_RV", s.diagnosis),
        ("MA_BENH_CHINH", s.primary_icd10),
        ("MA_BENH_KT", ";".join(s.secondary_icd10)),
        ("MA_TAI_NAN", s.accident_code),
        ("PP_DIEU_TRI", s.treatment_method),
        ("MA_NOI_DI", s.referred_from),
        ("MA_NOI_DEN", s.referred_to),
        ("NGAY_VAO", format_moment(s.admitted_at)),
        ("NGAY_RA", format_moment(s.discharged_at) if s.discharged_at else None),
        ("KET_QUA_DTRI", s.treatment_result),
        ("MA_LOAI_KCB", s.kind_code),
        ("CAN_NANG", _format_quantity(s.weight_kg) if s.weight_kg is not None else None),
        ("NGAY_TAI_KHAM", ";".join(d.strftime("%Y%m%d") for d in s.follow_ups)),
        ("MA_CSKCB", s.facility_code),
        ("GHI_CHU", s.note),
    ])


def _day(value: dt.date | None) -> str | None:
    return value.strftime("%Y%m%d") if value else None


def _xml2(s: VisitSubmission) -> Element:
    root = Element("CHITIEU_CHITIET_THUOC")
    rows = SubElement(root, "DSACH_CHI_TIET_THUOC")
    for number, line in enumerate(s.prescriptions, start=1):
        rows.append(_table("CHI_TIET_THUOC", [
            ("MA_LK", s.visit_key),
            ("STT", number),
            ("TEN_THUOC", line.drug),
            ("HAM_LUONG", line.strength),
            ("DUONG_DUNG", line.route),
            ("LIEU_DUNG", line.dose),
            ("CACH_DUNG", line.instructions),
            ("DON_VI_TINH", line.unit),
            ("SO_LUONG", _format_quantity(line.quantity) if line.quantity is not None else None),
            ("NGAY_YL", format_moment(line.ordered_at) if line.ordered_at else None),
        ]))
    return root


def _xml3(s: VisitSubmission) -> Element:
    root = Element("CHITIEU_CHITIET_DVKT_VTYT")
    rows = SubElement(root, "DSACH_CHI_TIET_DVKT")
    for number, line in enumerate(s.services, start=1):
        rows.append(_table("CHI_TIET_DVKT", [
            ("MA_LK", s.visit_key),
            ("STT", number),
            ("MA_DICH_VU", line.service_code),
            ("MA_NHOM", line.group_code),
            ("TEN_DICH_VU", line.name),
            ("DON_VI_TINH", line.unit),
            ("SO_LUONG", _format_quantity(line.quantity) if line.quantity is not None else None),
            ("NGAY_TH_YL", format_moment(line.performed_at) if line.performed_at else None),
        ]))
    return root


def _xml4(s: VisitSubmission) -> Element:
    root = Element("CHITIEU_CHITIET_DICHVUCANLAMSANG")
    rows = SubElement(root, "DSACH_CHI_TIET_CLS")
    for number, line in enumerate(s.tests, start=1):
        rows.append(_table("CHI_TIET_CLS", [
            ("MA_LK", s.visit_key),
            ("STT", number),
            ("MA_DICH_VU", line.service_code),
            ("MA_CHI_SO", line.indicator_code),
            ("TEN_CHI_SO", line.name),
            ("GIA_TRI", line.value),
            ("DON_VI_DO", line.unit),
            ("MO_TA", line.description),
            ("KET_LUAN", line.conclusion),
            ("NGAY_KQ", format_moment(line.resulted_at) if line.resulted_at else None),
        ]))
    return root


def _file_entry(parent: Element, kind: str, document: Element) -> None:
    entry = SubElement(parent, "FILEHOSO")
    SubElement(entry, "LOAIHOSO").text = kind
    inner = tostring(document, encoding="utf-8", xml_declaration=True)
    SubElement(entry, "NOIDUNGFILE").text = base64.b64encode(inner).decode("ascii")


def hoso_element(submission: VisitSubmission) -> Element:
    """One HOSO: XML1, and XML2/XML3/XML4 when the visit has such lines."""
    hoso = Element("HOSO")
    _file_entry(hoso, XML1, _xml1(submission))
    if submission.prescriptions:
        _file_entry(hoso, XML2, _xml2(submission))
    if submission.services:
        _file_entry(hoso, XML3, _xml3(submission))
    if submission.tests:
        _file_entry(hoso, XML4, _xml4(submission))
    return hoso


def encode_qd130(facility_code: str, submissions: list[VisitSubmission],
                 created_at: dt.datetime) -> bytes:
    """A QĐ 130 checkout file (UTF-8): one envelope, one HOSO per submission."""
    root = Element(ROOT)
    unit = SubElement(root, "THONGTINDONVI")
    SubElement(unit, "MACSKCB").text = facility_code
    info = SubElement(root, "THONGTINHOSO")
    # QĐ 130 envelope: NGAYLAP is the date the file was made, yyyymmdd.
    SubElement(info, "NGAYLAP").text = created_at.astimezone(TIMEZONE).strftime("%Y%m%d")
    SubElement(info, "SOLUONGHOSO").text = str(len(submissions))
    records = SubElement(info, "DANHSACHHOSO")
    for submission in submissions:
        records.append(hoso_element(submission))
    SubElement(root, "CHUKYDONVI")
    return tostring(root, encoding="utf-8", xml_declaration=True)


def write_qd130_file(path: Path, facility_code: str, submissions: list[VisitSubmission],
                     created_at: dt.datetime) -> None:
    Path(path).write_bytes(encode_qd130(facility_code, submissions, created_at))


def element_bytes(element: Element) -> bytes:
    """An element alone as a UTF-8 XML document (without the text that follows it)."""
    kept = copy.copy(element)
    kept.tail = None
    return tostring(kept, encoding="utf-8", xml_declaration=True)


__all__ = ["ROOT", "XML1", "XML2", "XML3", "XML4", "element_bytes", "encode_qd130", "format_moment",
           "hoso_element", "write_qd130_file"]
