"""Reading and writing QĐ 130/QĐ-BYT checkout files (the clinics' XML): the envelope.

A file is an envelope `GIAMDINHHS` holding one `HOSO` per visit (`qd130_hoso` reads
one). A file is read as a stream, twice, and never held whole:

1. The survey (`read_qd130_file`, `decode_qd130`) reads it to the end without decoding
   any HOSO: the file is well-formed, safe (`qd130_xml`), within the limits, its bytes
   agree with its declared encoding; and it learns the envelope's MACSKCB, NGAYLAP and
   SOLUONGHOSO wherever they stand, the number of HOSOs and the file's SHA-256. A file
   refused here has nothing of it imported: one cut short at its 90,000th HOSO is
   refused whole, as when files were read in one piece, not imported in part. And a
   HOSO without MA_CSKCB has the envelope's facility even if MACSKCB comes after it.
2. `Qd130File.records()` reads it again and hands each HOSO to `read_hoso` as soon as its
   end tag is read, detached from the tree: memory does not grow with the file.

The survey is one more expat pass over the envelope, without base64 or inner tables;
bench/qd130_memory_bench.py measures what it costs.

Writing lives in `qd130_writer`; `encode_qd130` and `write_qd130_file` are offered here
too, beside their inverse `decode_qd130`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import itertools
import math
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from xml.etree.ElementTree import Element

from core import validation as v
from core.i18n import N_, Message, now_utc
from core.records.imports.qd130_hoso import HosoRecord, read_hoso
from core.records.imports.qd130_values import moment, optional_element, whole_number
from core.records.imports.qd130_writer import ROOT, encode_qd130, write_qd130_file
from core.records.imports.qd130_xml import (
    PARSER_ERRORS,
    DocumentRefused,
    EncodingCheck,
    Prolog,
    Refusal,
    field_text,
    name,
    parse_document,
    refused,
)
from core.records.imports.report import FileUnreadable
from core.records.submission import VisitSubmission

MB = 1_000_000

# --- Limits the operator can raise --------------------------------------------------

# A busy Hanoi hospital sends about 10,000 visits a day; a real HOSO with its tables is
# a few KB (up to tens with XML3 and XML5). 100,000 HOSOs is ten days of such a hospital:
# a bigger file is more likely a whole year's export or a mistake than a checkout
# batch, and its one report would be unreadable. 500 MB holds that many HOSOs of
# 5 KB; it bounds how long one file holds the import, not memory (the reader streams).
DEFAULT_MAX_FILE_MB = 500
DEFAULT_MAX_RECORDS = 100_000
MAX_FILE_MB_VARIABLE = "EHR_QD130_MAX_FILE_MB"
MAX_RECORDS_VARIABLE = "EHR_QD130_MAX_RECORDS"


@dataclass(frozen=True)
class Qd130Limits:
    """How large one file may be, in bytes and in HOSOs."""

    max_bytes: int = DEFAULT_MAX_FILE_MB * MB
    max_records: int = DEFAULT_MAX_RECORDS

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, *, max_file_mb: int | None = None,
                 max_records: int | None = None) -> Qd130Limits:
        """The limits set by the operator: a flag's value, else the environment's, else the
        default; raises ValueError naming the variable when one is not a positive number."""
        env = os.environ if environ is None else environ

        def setting(given: int | None, flag: str, variable: str, default: int) -> int:
            if given is not None:
                if given < 1:
                    raise ValueError(flag)
                return given
            text = (env.get(variable) or "").strip()
            if not text:
                return default
            if not text.isdigit() or int(text) < 1:
                raise ValueError(variable)
            return int(text)

        return cls(setting(max_file_mb, "--max-file-mb", MAX_FILE_MB_VARIABLE,
                           DEFAULT_MAX_FILE_MB) * MB,
                   setting(max_records, "--max-records", MAX_RECORDS_VARIABLE,
                           DEFAULT_MAX_RECORDS))


def _too_large(size: int, limits: Qd130Limits) -> FileUnreadable:
    return FileUnreadable(Message(N_(
        "The file is {size} MB, more than the {limit} MB a file may have; nothing of it was "
        "imported. If it is one clinic's checkout file, import it with --max-file-mb {size} "
        "(or EHR_QD130_MAX_FILE_MB={size})."),
        {"size": math.ceil(size / MB), "limit": math.ceil(limits.max_bytes / MB)}))


# --- The envelope, streamed -------------------------------------------------------

_CHUNK_BYTES = 1 << 16
# QĐ 130 envelope: THONGTINDONVI/MACSKCB, THONGTINHOSO/NGAYLAP and SOLUONGHOSO, the first
# of each; their order is not relied on.
_ENVELOPE_FIELDS = {"THONGTINDONVI": ("MACSKCB",), "THONGTINHOSO": ("NGAYLAP", "SOLUONGHOSO")}


class EnvelopeStream:
    """One pass over a file: each HOSO as soon as its end tag is read, detached from the
    tree; every other element is dropped once read, so the tree holds the open elements,
    the HOSOs of the last chunk read and nothing that was handed out."""

    def __init__(self, stream: BinaryIO, max_bytes: int, *, survey: bool) -> None:
        self.stream = stream
        self.max_bytes = max_bytes
        self.survey = survey  # the first pass: checks the encoding and hashes the bytes
        self.size = 0
        self.digest = hashlib.sha256()
        self.root: Element | None = None
        self.values: dict[str, str] = {}  # MACSKCB, NGAYLAP, SOLUONGHOSO as written
        self._open: list[Element] = []  # the elements begun and not ended, root first
        self._hoso_at: int | None = None  # depth of the HOSO being read
        self._field_at: int | None = None  # depth of the envelope field being read
        self._containers: dict[str, Element] = {}

    def _chunks(self) -> Iterator[bytes]:
        while chunk := self.stream.read(_CHUNK_BYTES):
            self.size += len(chunk)
            if self.size > self.max_bytes:  # a file that grew, or a pipe
                raise _too_large(self.size, Qd130Limits(self.max_bytes))
            if self.survey:
                self.digest.update(chunk)
            yield chunk

    def hosos(self) -> Iterator[Element]:
        """The HOSOs in file order; raises `FileUnreadable` when the file cannot be read."""
        prolog = Prolog()
        held: list[bytes] = []  # what was read before the prolog chose the parser
        check = None
        try:
            parser = None
            for chunk in itertools.chain(self._chunks(), [b""]):
                if parser is None:
                    held.append(chunk)
                    if not prolog.feed(chunk, final=not chunk):
                        continue
                    parser, check = prolog.pull_parser(), EncodingCheck(prolog)
                    chunks, held = held, []
                else:
                    chunks = [chunk]
                for data in chunks:
                    if self.survey:
                        check.feed(data, final=not data)
                    if data:
                        parser.feed(data)
                        yield from self._take(parser.read_events())
            assert parser is not None
            parser.close()
            yield from self._take(parser.read_events())
        except (DocumentRefused, *PARSER_ERRORS) as error:
            problem = refused(error)
            if check is not None and self.survey and problem.refusal is Refusal.NOT_WELL_FORMED:
                try:  # UTF-8 under windows-1252 often fails as "not well-formed" first
                    check.contradicted()
                except DocumentRefused as contradiction:
                    problem = contradiction
            raise FileUnreadable(_refused(problem)) from None

    def _take(self, events: Iterable[tuple[str, Element]]) -> Iterator[Element]:
        opened = self._open
        for event, element in events:
            if event == "start":
                if self.root is None:
                    self.root = element
                    if name(element) != ROOT:
                        raise FileUnreadable(Message(N_(
                            "The file is XML but not a QĐ 130 checkout file: its root element "
                            "is not GIAMDINHHS.")))
                elif self._hoso_at is None and self._field_at is None:
                    self._begin(element, opened[-1])
                opened.append(element)
                continue
            opened.pop()
            depth = len(opened)
            if self._hoso_at is not None:
                if depth == self._hoso_at:  # the HOSO itself: handed out, kept nowhere here
                    # Detached, not cleared: its record keeps it as the quarantine's payload
                    # until its chunk is written, and it goes with the record.
                    self._hoso_at = None
                    opened[-1].remove(element)
                    yield element
                continue
            if not opened:  # the root
                continue
            if self._field_at is not None:
                if depth > self._field_at:  # inside the field: its text is read with it
                    continue
                self._field_at = None
                self.values.setdefault(name(element), field_text(element))
            opened[-1].remove(element)

    def _begin(self, element: Element, parent: Element) -> None:
        element_name = name(element)
        if element_name == "HOSO":
            self._hoso_at = len(self._open)
        elif element_name in _ENVELOPE_FIELDS:
            self._containers.setdefault(element_name, element)
        else:
            container = name(parent)
            if self._containers.get(container) is parent \
                    and element_name in _ENVELOPE_FIELDS[container]:
                self._field_at = len(self._open)


def _refused(problem: DocumentRefused) -> Message:
    if problem.refusal is Refusal.NOT_WELL_FORMED:
        return Message(N_(
            "The file is not well-formed XML (line {line}, column {column}); "
            "it is not a QĐ 130 file or it was cut short."),
            {"line": problem.line, "column": problem.column})
    if problem.refusal is Refusal.ENTITIES:
        return Message(N_(
            "The file declares XML entities or external references, which QĐ 130 files "
            "never contain; it was not read."))
    if problem.refusal is Refusal.DECLARED_BUT_UTF8:
        return Message(N_(
            "The file declares {declared} but its bytes are UTF-8; nothing of it was imported, "
            "so that no name is misread."), {"declared": problem.declared})
    if problem.refusal is Refusal.UTF8_BUT_NOT:
        return Message(N_(
            "The file is UTF-8 by its declaration (or by default) but its bytes are not UTF-8; "
            "nothing of it was imported."))
    return Message(N_(
        "The file declares a text encoding the reader does not support; "
        "QĐ 130 files are UTF-8."))


# --- What a file holds --------------------------------------------------------

Opener = Callable[[], AbstractContextManager[BinaryIO]]


@dataclass
class Qd130File:
    """A surveyed file: its envelope, and its HOSOs to read (`records`)."""

    facility_code: str | None  # THONGTINDONVI/MACSKCB
    created_on: dt.date | None  # THONGTINHOSO/NGAYLAP
    declared_count: int | None  # SOLUONGHOSO
    record_count: int  # HOSOs in the file
    sha256: str
    limits: Qd130Limits
    opener: Opener
    warnings: list[Message] = field(default_factory=list)
    interrupted: Message | None = None  # set when the second reading failed part way
    bytes_read: int = 0  # how far `records` has read the file (for progress)

    def records(self, now: dt.datetime | None = None) -> Iterator[HosoRecord]:
        """Each HOSO decoded in turn, up to the limit, read as the file is read again."""
        now = now or now_utc()
        handed = 0
        try:
            with self.opener() as stream:
                reader = EnvelopeStream(stream, self.limits.max_bytes, survey=False)
                for index, element in enumerate(
                        itertools.islice(reader.hosos(), self.limits.max_records), start=1):
                    handed = index
                    self.bytes_read = reader.size
                    yield read_hoso(element, index, self.facility_code, now)
        except (FileUnreadable, OSError):  # the file changed, or the disk failed, since
            self.interrupted = Message(N_(
                "The file could not be read again to its end (it changed while it was "
                "imported, or a read failed): the records after HOSO {n} were not imported. "
                "Import it again."), {"n": handed})

    def submissions(self) -> list[VisitSubmission]:
        return [r.submission for r in self.records() if r.submission is not None]


def _survey(opener: Opener, limits: Qd130Limits) -> Qd130File:
    with opener() as stream:
        if stream.seekable():
            size = stream.seek(0, os.SEEK_END)
            stream.seek(0)
            if size > limits.max_bytes:  # refused before anything is read
                raise _too_large(size, limits)
        reader = EnvelopeStream(stream, limits.max_bytes, survey=True)
        count = sum(1 for _ in reader.hosos())
    values, warnings = reader.values, []
    facility = optional_element(values.get("MACSKCB", ""), "MACSKCB", v.facility_code, warnings)
    created = optional_element(values.get("NGAYLAP", ""), "NGAYLAP",
                               lambda t: moment(t).date(), warnings)
    declared = optional_element(values.get("SOLUONGHOSO", ""), "SOLUONGHOSO", whole_number,
                                warnings)
    if declared is not None and declared != count:
        # QĐ 130 envelope: SOLUONGHOSO counts the HOSO elements; a mismatch hints at a cut file.
        warnings.append(Message(N_("The file says it holds {declared} records but holds {found}."),
                                {"declared": declared, "found": count}))
    limit = limits.max_records
    if declared is not None and declared > limit:
        raise FileUnreadable(Message(N_(
            "The file says it holds {declared} records (SOLUONGHOSO), more than the {limit} a "
            "file may have; nothing of it was imported. If that is right, import it with "
            "--max-records {declared} (or EHR_QD130_MAX_RECORDS={declared})."),
            {"declared": declared, "limit": limit}))
    if count > limit:
        warnings.insert(0, Message(N_(
            "The file holds {found} records, more than the {limit} a file may have: only the "
            "first {limit} were imported. To import the rest, import the file again with "
            "--max-records {found} (or EHR_QD130_MAX_RECORDS={found}); the records already "
            "imported are not imported twice."), {"found": count, "limit": limit}))
    return Qd130File(facility, created, declared, count, reader.digest.hexdigest(), limits,
                     opener, warnings)


def decode_qd130(data: bytes, limits: Qd130Limits | None = None) -> Qd130File:
    """Surveys a file held in memory (its HOSOs decode lazily, see `Qd130File.records`);
    raises `FileUnreadable` when it is not a QĐ 130 file or goes beyond the limits."""
    return _survey(lambda: io.BytesIO(data), limits or Qd130Limits())


def read_qd130_file(path: Path, limits: Qd130Limits | None = None) -> Qd130File:
    """Surveys a file on disk, as `decode_qd130`."""
    try:
        return _survey(lambda: Path(path).open("rb"), limits or Qd130Limits())
    except OSError as error:
        raise FileUnreadable(Message(N_("The file cannot be read: {error}"),
                                     {"error": error.strerror or str(error)})) from None


_parse_xml = parse_document  # the name the parser-equivalence test knows

__all__ = [
    "DEFAULT_MAX_FILE_MB",
    "DEFAULT_MAX_RECORDS",
    "EnvelopeStream",
    "HosoRecord",
    "Qd130File",
    "Qd130Limits",
    "decode_qd130",
    "encode_qd130",
    "read_hoso",
    "read_qd130_file",
    "write_qd130_file",
]
