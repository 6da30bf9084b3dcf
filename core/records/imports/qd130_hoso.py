"""One HOSO of a QĐ 130/QĐ-BYT checkout file: the visit it carries, or why it cannot be read.

A HOSO holds tables (`FILEHOSO`) whose content is base64 of an inner XML document.
We read XML1 (the visit), XML2 (medicines used or dispensed), XML3 (technical services
and supplies) and XML4 (paraclinical results) and ignore the others.
Everything is looked up by element name and normalised to NFC; a bad optional value
is dropped with a warning, and a HOSO that cannot be read is reported whole (the
other HOSOs of the file go on). The envelope around the HOSOs is `qd130_format`'s.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar
from xml.etree.ElementTree import Element

from core import validation as v
from core.i18n import N_, Message, now_utc
from core.records.imports.qd130_values import (
    area_code,
    birth_date,
    bounded,
    column_length,
    day,
    days,
    first_card,
    group_number,
    icd10_code,
    in_the_future,
    moment,
    optional_element,
    quantity,
    secondary_codes,
    sex_code,
    short_code,
    weight,
)
from core.records.imports.qd130_writer import XML1, XML2, XML3, XML4, element_bytes, hoso_element
from core.records.imports.qd130_xml import (
    PARSER_ERRORS,
    DocumentRefused,
    Refusal,
    check_encoding,
    descendants,
    fields,
    parse_document,
    prolog_of,
    refused,
)
from core.records.imports.qd130_xml import name as tag_name
from core.records.submission import PrescriptionLine, ServiceLine, TestLine, VisitSubmission
from core.records.visit import Prescription, Service, TestResult, Visit
from core.reference.qd130 import MEDICINE_UNTIL_KINDS
from core.text import clean

T = TypeVar("T")


@dataclass
class HosoRecord:
    """One HOSO of a file: the visit it carries, or why it cannot be read."""

    index: int  # 1-based position in the file
    element: Element | None  # the HOSO as received (None for a generated submission)
    facility_code: str | None = None
    visit_key: str | None = None  # MA_LK, when it could be read
    submission: VisitSubmission | None = None
    problem: Message | None = None  # set when the HOSO cannot be read
    warnings: list[Message] = field(default_factory=list)

    def payload(self) -> bytes:
        """The HOSO as XML, what the quarantine keeps: as received, else as we would send it."""
        if self.element is not None:
            return element_bytes(self.element)
        assert self.submission is not None
        return element_bytes(hoso_element(self.submission))

    @property
    def line(self) -> int | None:
        """A HOSO is named by its index and MA_LK: the XML reader keeps no line numbers."""
        return None

    def place(self, file_name: str) -> str:
        """Where the record is, for the operator: file, HOSO index and MA_LK (never personal data)."""
        where = f"{file_name}, HOSO {self.index}"
        return f"{where}, MA_LK {self.visit_key}" if self.visit_key else where


class HosoUnreadable(Exception):
    def __init__(self, message: Message) -> None:
        super().__init__(message.msgid)
        self.message = message


# --- One HOSO -----------------------------------------------------------------

def _tables(hoso: Element) -> dict[str, list[str]]:
    """`{LOAIHOSO: [NOIDUNGFILE, ...]}` of one HOSO."""
    tables: dict[str, list[str]] = {}
    for item in descendants(hoso, "FILEHOSO"):
        values = {tag_name(c): "".join(c.itertext()) for c in item}
        kind = clean(values.get("LOAIHOSO", "")).upper().replace(" ", "")
        tables.setdefault(kind, []).append(values.get("NOIDUNGFILE", ""))
    return tables


_SPACES = re.compile(r"\s+")


def _inner(table: str, content: str) -> Element:
    """The inner document of a table: base64 (line breaks allowed) of XML."""
    try:
        try:
            data = base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):  # line breaks, or not base64 at all
            data = base64.b64decode(_SPACES.sub("", content), validate=True)
    except (binascii.Error, ValueError):
        raise HosoUnreadable(Message(N_("The {table} table is not valid base64."),
                                     {"table": table})) from None
    if not data.strip():
        raise HosoUnreadable(Message(N_("The {table} table is empty."), {"table": table}))
    try:
        prolog = prolog_of(data)
        check_encoding(data, prolog)  # nothing is guessed: a contradiction is reported
        return parse_document(data, prolog)
    except (DocumentRefused, *PARSER_ERRORS) as error:
        raise HosoUnreadable(_table_refused(table, refused(error))) from None


def _table_refused(table: str, error: DocumentRefused) -> Message:
    if error.refusal is Refusal.NOT_WELL_FORMED:
        return Message(N_(
            "The {table} table is not well-formed XML (line {line}, column {column})."),
            {"table": table, "line": error.line, "column": error.column})
    if error.refusal is Refusal.ENTITIES:
        return Message(N_(
            "The {table} table declares XML entities or external references; it was not read."),
            {"table": table})
    if error.refusal is Refusal.DECLARED_BUT_UTF8:
        return Message(N_(
            "The {table} table declares {declared} but its bytes are UTF-8; it was not read, "
            "so that no name is misread."), {"table": table, "declared": error.declared})
    if error.refusal is Refusal.UTF8_BUT_NOT:
        return Message(N_(
            "The {table} table is UTF-8 by its declaration (or by default) but its bytes are "
            "not UTF-8; it was not read."), {"table": table})
    return Message(N_("The {table} table declares a text encoding the reader does not support."),
                   {"table": table})


def read_hoso(hoso: Element, index: int, envelope_facility: str | None,
              now: dt.datetime | None = None) -> HosoRecord:
    """Decodes one HOSO; a HOSO that cannot be read comes back with `problem` set.
    `now` is the clock that times in the future are judged by."""
    now = now or now_utc()
    record = HosoRecord(index, hoso, facility_code=envelope_facility)
    try:
        tables = _tables(hoso)
        xml1 = tables.get(XML1, [])
        if not xml1:
            raise HosoUnreadable(Message(N_("The record has no XML1 table (the visit summary).")))
        if len(xml1) > 1:
            raise HosoUnreadable(Message(N_("The record has more than one XML1 table.")))
        visit = _visit(_inner(XML1, xml1[0]), record, envelope_facility, now)
        for content in tables.get(XML2, []):
            visit.prescriptions.extend(_drugs(_inner(XML2, content), visit.visit_key,
                                              record.warnings, now))
        for content in tables.get(XML3, []):
            visit.services.extend(_services(_inner(XML3, content), visit.visit_key,
                                            record.warnings, now))
        for content in tables.get(XML4, []):
            visit.tests.extend(_tests(_inner(XML4, content), visit.visit_key, record.warnings,
                                      now))
    except HosoUnreadable as error:
        record.problem = error.message
        return record
    record.submission = visit
    return record


def _visit(document: Element, record: HosoRecord, envelope_facility: str | None,
           now: dt.datetime) -> VisitSubmission:
    """XML1 `TONG_HOP`: the visit and the patient's identifiers."""
    summary = document if tag_name(document) == "TONG_HOP" else next(
        iter(descendants(document, "TONG_HOP")), None)
    if summary is None:
        raise HosoUnreadable(Message(N_("The XML1 table has no TONG_HOP element.")))
    f = fields(summary)
    key = f.get("MA_LK", "")
    if not key:
        raise HosoUnreadable(Message(N_("The XML1 table has no MA_LK (the visit key).")))
    if len(key) > column_length(Visit, "visit_key"):
        raise HosoUnreadable(Message(N_("MA_LK is longer than {n} characters."),
                                     {"n": column_length(Visit, "visit_key")}))
    record.visit_key = key

    def optional(element: str, validator: Callable[[str], T]) -> T | None:
        return optional_element(f.get(element, ""), element, validator, record.warnings)

    facility = optional("MA_CSKCB", v.facility_code) or envelope_facility
    if facility is None:
        raise HosoUnreadable(Message(N_(
            "Neither MA_CSKCB nor the file's MACSKCB is a valid facility code.")))
    record.facility_code = facility
    if not f.get("NGAY_VAO"):
        raise HosoUnreadable(Message(N_("NGAY_VAO (the arrival time) is missing.")))
    try:
        admitted = moment(f["NGAY_VAO"])
    except ValueError:
        raise HosoUnreadable(Message(N_(
            "NGAY_VAO (the arrival time) is not a time written as year, month, day, hour and minute "
            "(for example 202503050830)."))) from None
    # QĐ 130, XML1 NGAY_VAO: when the visit began. One that begins in the future did not
    # happen (a wrong year, day and month swapped): the HOSO waits in quarantine.
    if in_the_future(admitted, now):
        raise HosoUnreadable(Message(N_("NGAY_VAO (the arrival time) is in the future.")))
    kind = optional("MA_LOAI_KCB", short_code(2))
    discharged = optional("NGAY_RA", moment)
    if discharged is not None and discharged < admitted:
        record.warnings.append(Message(N_("NGAY_RA is before NGAY_VAO and was left out.")))
        discharged = None
    # QĐ 130, XML1 NGAY_RA: in the future only as the last day the medicine covers, which it
    # is for outpatient treatment and refills (MA_LOAI_KCB 02, 05, 07, 08; QĐ 4750).
    if discharged is not None and in_the_future(discharged, now) \
            and kind not in MEDICINE_UNTIL_KINDS:
        record.warnings.append(Message(N_(
            "NGAY_RA is in the future, which only outpatient treatment (MA_LOAI_KCB 02, 05, 07 "
            "or 08) allows; it was left out.")))
        discharged = None
    return VisitSubmission(
        facility_code=facility,
        visit_key=key,
        admitted_at=admitted,
        personal_id=optional("SO_CCCD", v.personal_id),
        card_number=first_card(f.get("MA_THE_BHYT", ""), record.warnings),
        patient_code=f.get("MA_BN") or None,
        full_name=f.get("HO_TEN") or None,
        birth_date=optional("NGAY_SINH", birth_date),
        sex=optional("GIOI_TINH", sex_code),
        blood_group=optional("NHOM_MAU", v.blood_group),
        ethnicity_code=optional("MA_DANTOC", v.ethnicity),
        phone=optional("DIEN_THOAI", v.phone),
        address=f.get("DIA_CHI") or None,
        ward_code=optional("MAXA_CU_TRU", v.ward_code),
        kind_code=kind,
        discharged_at=discharged,
        reason=f.get("LY_DO_VV") or None,
        # QĐ 130, XML1: CHAN_DOAN_VAO is the diagnosis on admission, kept and labelled as
        # such; the visit's diagnosis is CHAN_DOAN_RV (with MA_BENH_CHINH), never the former.
        admission_diagnosis=f.get("CHAN_DOAN_VAO") or None,
        diagnosis=f.get("CHAN_DOAN_RV") or None,
        primary_icd10=optional("MA_BENH_CHINH", icd10_code),
        secondary_icd10=secondary_codes(f.get("MA_BENH_KT", ""), record.warnings),
        treatment_method=f.get("PP_DIEU_TRI") or None,
        treatment_result=optional("KET_QUA_DTRI", short_code(1)),
        # QĐ 130, XML1 NGAY_TAI_KHAM: appointments; the future is where they belong.
        follow_ups=optional("NGAY_TAI_KHAM", days) or [],
        note=f.get("GHI_CHU") or None,
        weight_kg=optional("CAN_NANG", weight),
        accident_code=optional("MA_TAI_NAN", short_code(1)),
        referred_from=optional("MA_NOI_DI", v.facility_code),
        referred_to=optional("MA_NOI_DEN", v.facility_code),
        card_five_years_from=optional("NAM_NAM_LIEN_TUC", day),
        card_copay_exempt_from=optional("NGAY_MIEN_CCT", day),
        card_area_code=optional("MA_KHUVUC", area_code),
    )


def _lines(document: Element, line_name: str, visit_key: str, table: str,
           warnings: list[Message]) -> Iterator[dict[str, str]]:
    """The lines of a detail table that belong to this visit (MA_LK ties them to XML1)."""
    for number, line in enumerate(descendants(document, line_name), start=1):
        f = fields(line)
        if f.get("MA_LK") and f["MA_LK"] != visit_key:
            warnings.append(Message(N_(
                "Line {n} of the {table} table belongs to another visit (MA_LK) and was left out."),
                {"n": number, "table": table}))
            continue
        yield f


def _past(text: str, element: str, warnings: list[Message], now: dt.datetime) -> dt.datetime | None:
    """A time that has happened (an order, a result); one in the future is left out."""
    value = optional_element(text, element, moment, warnings)
    if value is not None and in_the_future(value, now):
        warnings.append(Message(N_("{element} is in the future and was left out."),
                                {"element": element}))
        return None
    return value


def _drugs(document: Element, visit_key: str, warnings: list[Message],
           now: dt.datetime) -> list[PrescriptionLine]:
    """XML2 `CHI_TIET_THUOC` lines."""
    lines = []
    for f in _lines(document, "CHI_TIET_THUOC", visit_key, XML2, warnings):
        def text(element: str, column: str, f: dict[str, str] = f) -> str | None:
            return bounded(f.get(element, ""), element, column_length(Prescription, column),
                           warnings)

        drug = text("TEN_THUOC", "drug")
        if drug is None:
            warnings.append(Message(N_("A line of the XML2 table has no TEN_THUOC and was left out.")))
            continue
        lines.append(PrescriptionLine(
            drug=drug,
            strength=text("HAM_LUONG", "strength"),
            route=text("DUONG_DUNG", "route"),
            dose=text("LIEU_DUNG", "dose"),
            instructions=f.get("CACH_DUNG") or None,
            quantity=optional_element(f.get("SO_LUONG", ""), "SO_LUONG", quantity, warnings),
            unit=text("DON_VI_TINH", "unit"),
            # QĐ 130, XML2 NGAY_YL: when the drug was ordered, which cannot be ahead.
            ordered_at=_past(f.get("NGAY_YL", ""), "NGAY_YL", warnings, now),
        ))
    return lines


def _services(document: Element, visit_key: str, warnings: list[Message],
              now: dt.datetime) -> list[ServiceLine]:
    """XML3 `CHI_TIET_DVKT` lines: a service (TEN_DICH_VU) or a supply (TEN_VAT_TU)."""
    lines = []
    for f in _lines(document, "CHI_TIET_DVKT", visit_key, XML3, warnings):
        element = "TEN_DICH_VU" if f.get("TEN_DICH_VU") else "TEN_VAT_TU"
        name = bounded(f.get(element, ""), element, column_length(Service, "name"), warnings)
        if name is None:
            warnings.append(Message(N_(
                "A line of the XML3 table has neither TEN_DICH_VU nor TEN_VAT_TU and was left out.")))
            continue
        performed = "NGAY_TH_YL" if f.get("NGAY_TH_YL") else "NGAY_YL"
        lines.append(ServiceLine(
            name=name,
            service_code=bounded(f.get("MA_DICH_VU", ""), "MA_DICH_VU",
                                 column_length(Service, "service_code"), warnings),
            group_code=optional_element(f.get("MA_NHOM", ""), "MA_NHOM", group_number,
                                        warnings),
            quantity=optional_element(f.get("SO_LUONG", ""), "SO_LUONG", quantity, warnings),
            unit=bounded(f.get("DON_VI_TINH", ""), "DON_VI_TINH",
                         column_length(Service, "unit"), warnings),
            # QĐ 130, XML3 NGAY_TH_YL (when it was done), else NGAY_YL (when it was ordered).
            performed_at=_past(f.get(performed, ""), performed, warnings, now),
        ))
    return lines


def _tests(document: Element, visit_key: str, warnings: list[Message],
           now: dt.datetime) -> list[TestLine]:
    """XML4 `CHI_TIET_CLS` lines."""
    lines = []
    for f in _lines(document, "CHI_TIET_CLS", visit_key, XML4, warnings):
        def text(element: str, column: str, f: dict[str, str] = f) -> str | None:
            return bounded(f.get(element, ""), element, column_length(TestResult, column),
                           warnings)

        test_name = text("TEN_CHI_SO", "name")
        if test_name is None:
            warnings.append(Message(N_("A line of the XML4 table has no TEN_CHI_SO and was left out.")))
            continue
        lines.append(TestLine(
            name=test_name,
            service_code=text("MA_DICH_VU", "service_code"),
            indicator_code=text("MA_CHI_SO", "indicator_code"),
            value=text("GIA_TRI", "value"),
            unit=text("DON_VI_DO", "unit"),
            description=f.get("MO_TA") or None,
            conclusion=f.get("KET_LUAN") or None,
            # QĐ 130, XML4 NGAY_KQ: when the result came, which cannot be ahead.
            resulted_at=_past(f.get("NGAY_KQ", ""), "NGAY_KQ", warnings, now),
        ))
    return lines


__all__ = ["HosoRecord", "HosoUnreadable", "read_hoso"]
