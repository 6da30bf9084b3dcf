"""Reading and writing QĐ 130/QĐ-BYT checkout files (the clinics' XML).

A file is an envelope `GIAMDINHHS` holding one `HOSO` per visit; each HOSO holds
tables (`FILEHOSO`) whose content is base64 of an inner XML document. We read
XML1 (the visit), XML2 (drugs) and XML4 (test results) and ignore the others.

Clinic software varies: empty elements, missing tables, BOM, CDATA, Windows line
ends, NFD text, any element order. Everything is looked up by element name and
normalised to NFC; a bad optional value is dropped with a warning, a HOSO that
cannot be read is reported whole (and the other HOSOs of the file go on), and
only a file that is not a QĐ 130 envelope at all raises `FileUnreadable`.

Writing lives in `qd130_writer`; `encode_qd130` and `write_qd130_file` are
offered here too, beside their inverse `decode_qd130`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar
from xml.etree.ElementTree import XML, Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from core import validation as v
from core.i18n import N_, Message
from core.records.imports.qd130_values import (
    birth_date,
    bounded,
    column_length,
    first_card,
    first_day,
    icd10_code,
    moment,
    optional_element,
    quantity,
    secondary_codes,
    sex_code,
    short_code,
    whole_number,
)
from core.records.imports.qd130_writer import (
    ROOT,
    XML1,
    XML2,
    XML4,
    element_bytes,
    encode_qd130,
    hoso_element,
    write_qd130_file,
)
from core.records.imports.report import FileUnreadable
from core.records.submission import PrescriptionLine, TestLine, VisitSubmission
from core.records.visit import Prescription, TestResult, Visit
from core.text import clean, nfc

T = TypeVar("T")


# --- What a file holds --------------------------------------------------------

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


@dataclass
class Qd130File:
    facility_code: str | None  # THONGTINDONVI/MACSKCB
    created_on: dt.date | None  # THONGTINHOSO/NGAYLAP
    declared_count: int | None  # SOLUONGHOSO
    hosos: list[Element]
    warnings: list[Message] = field(default_factory=list)

    def records(self) -> Iterator[HosoRecord]:
        """Each HOSO decoded in turn (decoding is lazy: a file may hold thousands)."""
        for index, element in enumerate(self.hosos, start=1):
            yield read_hoso(element, index, self.facility_code)

    def submissions(self) -> list[VisitSubmission]:
        return [r.submission for r in self.records() if r.submission is not None]


class HosoUnreadable(Exception):
    def __init__(self, message: Message) -> None:
        super().__init__(message.msgid)
        self.message = message


# --- Element access by name ---------------------------------------------------

# Tag -> name as compared; a plain dict is the cheapest lookup per element. Bounded,
# since tag names come from untrusted files.
_NAMES: dict[object, str] = {}
_NAMES_KEPT = 512


def _name(element: Element) -> str:
    return _name_of(element.tag)


def _name_of(tag: object) -> str:
    name = _NAMES.get(tag)
    if name is None:
        # Names are compared without namespace and case: some exporters add both.
        name = tag.rsplit("}", 1)[-1].upper() if isinstance(tag, str) else ""
        if len(_NAMES) < _NAMES_KEPT:
            _NAMES[tag] = name
    return name


def _descendants(element: Element, name: str) -> list[Element]:
    tags = {e.tag for e in element.iter()}
    if name in tags and not any(_name_of(t) == name for t in tags if t != name):
        # Spelled exactly `name` and in no other way: the C search finds them.
        return [e for e in element.iter(name) if e is not element]
    return [e for e in element.iter() if e is not element and _name(e) == name]


def _fields(element: Element) -> dict[str, str]:
    """Direct children as `{NAME: text}`, NFC and trimmed; the first of a repeated name wins."""
    values: dict[str, str] = {}
    names = _NAMES
    for child in element:
        name = names.get(child.tag) or _name(child)
        if name in values:
            continue
        # What `clean` does, faster: ASCII is NFC already, and str.split() and the
        # regex `\s` agree on what white space is.
        text = child.text if len(child) == 0 else "".join(child.itertext())
        if text:
            values[name] = " ".join((text if text.isascii() else nfc(text)).split())
        else:
            values[name] = ""
    return values


def _parse_xml(data: bytes) -> Element:
    """Untrusted XML: entity tricks and external references are refused.

    Both need a DOCTYPE. A document without one (every real QĐ 130 file) goes to
    the C parser; any other to defusedxml, whose pure-Python parser is ~5 times
    slower. Expat reads `<!DOCTYPE` as these ASCII bytes in every encoding it
    accepts except UTF-16, whose markup always holds NUL bytes.
    """
    if b"\x00" in data or b"<!DOCTYPE" in data.upper():
        return SafeET.fromstring(data)
    return XML(data)


# --- The envelope -------------------------------------------------------------

def decode_qd130(data: bytes) -> Qd130File:
    """Reads a file's envelope (its HOSOs decode lazily, see `Qd130File.records`);
    raises `FileUnreadable` when the file is not a QĐ 130 file at all."""
    try:
        root = _parse_xml(data)
    except SafeET.ParseError as error:
        line, column = error.position
        raise FileUnreadable(Message(N_(
            "The file is not well-formed XML (line {line}, column {column}); "
            "it is not a QĐ 130 file or it was cut short."),
            {"line": line, "column": column})) from None
    except DefusedXmlException:
        raise FileUnreadable(Message(N_(
            "The file declares XML entities or external references, which QĐ 130 files "
            "never contain; it was not read."))) from None
    except ValueError:  # expat: "multi-byte encodings are not supported"
        raise FileUnreadable(Message(N_(
            "The file declares a text encoding the reader does not support; "
            "QĐ 130 files are UTF-8."))) from None
    if _name(root) != ROOT:
        raise FileUnreadable(Message(N_(
            "The file is XML but not a QĐ 130 checkout file: its root element is not GIAMDINHHS.")))
    warnings: list[Message] = []
    unit = next(iter(_descendants(root, "THONGTINDONVI")), None)
    facility = optional_element(_fields(unit).get("MACSKCB", "") if unit is not None else "",
                                "MACSKCB", v.facility_code, warnings)
    info = next(iter(_descendants(root, "THONGTINHOSO")), None)
    info_fields = _fields(info) if info is not None else {}
    created = optional_element(info_fields.get("NGAYLAP", ""), "NGAYLAP",
                               lambda t: moment(t).date(), warnings)
    declared = optional_element(info_fields.get("SOLUONGHOSO", ""), "SOLUONGHOSO", whole_number,
                                warnings)
    hosos = _descendants(root, "HOSO")
    if declared is not None and declared != len(hosos):
        # QĐ 130 envelope: SOLUONGHOSO counts the HOSO elements; a mismatch hints at a cut file.
        warnings.append(Message(N_("The file says it holds {declared} records but holds {found}."),
                                {"declared": declared, "found": len(hosos)}))
    return Qd130File(facility, created, declared, hosos, warnings)


# --- One HOSO -----------------------------------------------------------------

def _tables(hoso: Element) -> dict[str, list[str]]:
    """`{LOAIHOSO: [NOIDUNGFILE, ...]}` of one HOSO."""
    tables: dict[str, list[str]] = {}
    for item in _descendants(hoso, "FILEHOSO"):
        values = {_name(c): "".join(c.itertext()) for c in item}
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
        return _parse_xml(data)
    except SafeET.ParseError as error:
        line, column = error.position
        raise HosoUnreadable(Message(N_(
            "The {table} table is not well-formed XML (line {line}, column {column})."),
            {"table": table, "line": line, "column": column})) from None
    except DefusedXmlException:
        raise HosoUnreadable(Message(N_(
            "The {table} table declares XML entities or external references; it was not read."),
            {"table": table})) from None
    except ValueError:  # expat: "multi-byte encodings are not supported"
        raise HosoUnreadable(Message(N_(
            "The {table} table declares a text encoding the reader does not support."),
            {"table": table})) from None


def read_hoso(hoso: Element, index: int, envelope_facility: str | None) -> HosoRecord:
    """Decodes one HOSO; a HOSO that cannot be read comes back with `problem` set."""
    record = HosoRecord(index, hoso, facility_code=envelope_facility)
    try:
        tables = _tables(hoso)
        xml1 = tables.get(XML1, [])
        if not xml1:
            raise HosoUnreadable(Message(N_("The record has no XML1 table (the visit summary).")))
        if len(xml1) > 1:
            raise HosoUnreadable(Message(N_("The record has more than one XML1 table.")))
        visit = _visit(_inner(XML1, xml1[0]), record, envelope_facility)
        for content in tables.get(XML2, []):
            visit.prescriptions.extend(_drugs(_inner(XML2, content), visit.visit_key,
                                              record.warnings))
        for content in tables.get(XML4, []):
            visit.tests.extend(_tests(_inner(XML4, content), visit.visit_key, record.warnings))
    except HosoUnreadable as error:
        record.problem = error.message
        return record
    record.submission = visit
    return record


def _visit(document: Element, record: HosoRecord, envelope_facility: str | None) -> VisitSubmission:
    """XML1 `TONG_HOP`: the visit and the patient's identifiers."""
    summary = document if _name(document) == "TONG_HOP" else next(
        iter(_descendants(document, "TONG_HOP")), None)
    if summary is None:
        raise HosoUnreadable(Message(N_("The XML1 table has no TONG_HOP element.")))
    f = _fields(summary)
    key = f.get("MA_LK", "")
    if not key:
        raise HosoUnreadable(Message(N_("The XML1 table has no MA_LK (the visit key).")))
    if len(key) > column_length(Visit, "visit_key"):
        raise HosoUnreadable(Message(N_("MA_LK is longer than {n} characters."),
                                     {"n": column_length(Visit, "visit_key")}))
    record.visit_key = key

    def optional(name: str, validator: Callable[[str], T]) -> T | None:
        return optional_element(f.get(name, ""), name, validator, record.warnings)

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
            "NGAY_VAO (the arrival time) is not a date in the form yyyymmddHHMM."))) from None
    discharged = optional("NGAY_RA", moment)
    if discharged is not None and discharged < admitted:
        record.warnings.append(Message(N_("NGAY_RA is before NGAY_VAO and was left out.")))
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
        kind_code=optional("MA_LOAI_KCB", short_code(2)),
        discharged_at=discharged,
        reason=f.get("LY_DO_VV") or None,
        # QĐ 130, XML1: the discharge diagnosis when there is one, else the one on arrival.
        diagnosis=f.get("CHAN_DOAN_RV") or f.get("CHAN_DOAN_VAO") or None,
        primary_icd10=optional("MA_BENH_CHINH", icd10_code),
        secondary_icd10=secondary_codes(f.get("MA_BENH_KT", ""), record.warnings),
        treatment_result=optional("KET_QUA_DTRI", short_code(1)),
        follow_up_on=optional("NGAY_TAI_KHAM", first_day),
    )


def _lines(document: Element, name: str, visit_key: str, table: str,
           warnings: list[Message]) -> Iterator[dict[str, str]]:
    """The lines of a detail table that belong to this visit (MA_LK ties them to XML1)."""
    for number, line in enumerate(_descendants(document, name), start=1):
        f = _fields(line)
        if f.get("MA_LK") and f["MA_LK"] != visit_key:
            warnings.append(Message(N_(
                "Line {n} of the {table} table belongs to another visit (MA_LK) and was left out."),
                {"n": number, "table": table}))
            continue
        yield f


def _drugs(document: Element, visit_key: str, warnings: list[Message]) -> list[PrescriptionLine]:
    """XML2 `CHI_TIET_THUOC` lines."""
    lines = []
    for f in _lines(document, "CHI_TIET_THUOC", visit_key, XML2, warnings):
        def text(name: str, column: str, f: dict[str, str] = f) -> str | None:
            return bounded(f.get(name, ""), name, column_length(Prescription, column), warnings)

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
            ordered_at=optional_element(f.get("NGAY_YL", ""), "NGAY_YL", moment, warnings),
        ))
    return lines


def _tests(document: Element, visit_key: str, warnings: list[Message]) -> list[TestLine]:
    """XML4 `CHI_TIET_CLS` lines."""
    lines = []
    for f in _lines(document, "CHI_TIET_CLS", visit_key, XML4, warnings):
        def text(name: str, column: str, f: dict[str, str] = f) -> str | None:
            return bounded(f.get(name, ""), name, column_length(TestResult, column), warnings)

        name = text("TEN_CHI_SO", "name")
        if name is None:
            warnings.append(Message(N_("A line of the XML4 table has no TEN_CHI_SO and was left out.")))
            continue
        lines.append(TestLine(
            name=name,
            service_code=text("MA_DICH_VU", "service_code"),
            indicator_code=text("MA_CHI_SO", "indicator_code"),
            value=text("GIA_TRI", "value"),
            unit=text("DON_VI_DO", "unit"),
            description=f.get("MO_TA") or None,
            conclusion=f.get("KET_LUAN") or None,
            resulted_at=optional_element(f.get("NGAY_KQ", ""), "NGAY_KQ", moment, warnings),
        ))
    return lines


__all__ = [
    "HosoRecord",
    "Qd130File",
    "decode_qd130",
    "encode_qd130",
    "read_hoso",
    "write_qd130_file",
]
