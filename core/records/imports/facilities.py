"""`import-facilities`: the registry of health facilities (CSV).

Columns: ma_co_so, ten_co_so, loai, ma_xa (all but ma_xa required; unknown
columns ignored). The health book shows a facility as "Name (code)" wherever a
record names its code (a registered primary-care facility, a place of
vaccination, a visit).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from core import validation as v
from core.db import Database
from core.i18n import N_, Message
from core.records.facility import Facility, FacilityKind
from core.records.imports.chunks import (
    import_from_one_source,
    optional_value,
    read_entries,
    write_in_chunks,
)
from core.records.imports.csvfile import CsvFile, write_csv
from core.records.imports.progress import ProgressSink
from core.records.imports.report import ImportReport
from core.records.operations import ImportKind
from core.records.provenance import Source
from core.text import fold

REQUIRED = ("ma_co_so", "ten_co_so", "loai")
COLUMNS = (*REQUIRED, "ma_xa")
CHUNK = 2000

# The department's words for each kind, matched without diacritics or case;
# the enum values themselves (`tram_y_te` or `health_station`) are accepted too.
KIND_WORDS: dict[FacilityKind, tuple[str, ...]] = {
    FacilityKind.HEALTH_STATION: ("tram_y_te", "Trạm y tế"),
    FacilityKind.POLYCLINIC: ("phong_kham_da_khoa", "Phòng khám đa khoa"),
    FacilityKind.MEDICAL_CENTRE: ("trung_tam_y_te", "Trung tâm y tế", "medical_center"),
    FacilityKind.HOSPITAL: ("benh_vien", "Bệnh viện"),
    FacilityKind.PRIVATE_CLINIC: ("phong_kham_tu_nhan", "Phòng khám tư nhân"),
}
_KINDS = {fold(word): kind for kind, words in KIND_WORDS.items() for word in (kind.value, *words)}


@dataclass
class FacilityEntry:
    """One facility as the registry states it; also what the seed generates."""

    code: str
    name: str
    kind: FacilityKind
    ward_code: str | None = None
    line: int | None = field(default=None, compare=False)
    warnings: list[Message] = field(default_factory=list, compare=False)


# --- Parsing ------------------------------------------------------------------

def facility_name(text: str) -> str:
    value = v.free_text(text, max_length=200)
    if not value:
        raise v.InvalidValue(Message(N_("The facility name is missing.")))
    return value


def facility_kind(text: str) -> FacilityKind:
    found = _KINDS.get(fold(text or ""))
    if found is None:
        raise v.InvalidValue(Message(N_(
            "The facility kind must be tram_y_te, phong_kham_da_khoa, trung_tam_y_te, "
            "benh_vien or phong_kham_tu_nhan.")))
    return found


def parse_row(values: dict[str, str], line: int | None = None) -> FacilityEntry:
    """Validates one registry row; raises `InvalidValue` when a required value is bad."""
    entry = FacilityEntry(
        code=v.facility_code(values["ma_co_so"]),
        name=facility_name(values["ten_co_so"]),
        kind=facility_kind(values["loai"]),
        line=line,
    )
    entry.ward_code = optional_value(values, "ma_xa", v.ward_code, entry.warnings)
    return entry


def read_facilities(source: CsvFile, report: ImportReport) -> Iterator[FacilityEntry]:
    """Valid entries of a registry file; bad rows go to the report with their line."""
    return read_entries(source, report, parse_row, lambda entry: entry.code,
                        N_("This facility code already appears on line {line} of this file."))


# --- Applying -----------------------------------------------------------------

_FACILITIES = Facility.__table__
# What a later registry file may change about a facility it already sent.
_DETAILS = ("name", "kind", "ward_code")


async def apply_chunk(db: Database, entries: list[FacilityEntry], provenance_id: int,
                      report: ImportReport) -> None:
    """Writes one chunk in one transaction: new facilities and changed ones."""
    async with db.connection() as connection:
        existing = {row.code: row for row in await connection.execute(
            select(_FACILITIES).where(_FACILITIES.c.code.in_(sorted({e.code for e in entries}))))}
        new_rows: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for entry in entries:
            details = {name: getattr(entry, name) for name in _DETAILS}
            row = existing.get(entry.code)
            if row is None:
                new_rows.append({"code": entry.code, **details, "provenance_id": provenance_id})
                existing[entry.code] = entry  # a repeat within the chunk is then "unchanged"
                report.created += 1
            elif any(getattr(row, name) != details[name] for name in _DETAILS):
                updates.append({"_code": entry.code, **details, "provenance_id": provenance_id})
                report.updated += 1
            else:
                report.unchanged += 1
        if new_rows:
            await connection.execute(insert(_FACILITIES), new_rows)
        if updates:
            await connection.execute(
                update(_FACILITIES).where(_FACILITIES.c.code == bindparam("_code")), updates)


async def write_facilities(db: Database, entries: Iterable[FacilityEntry], provenance_id: int,
                           report: ImportReport) -> None:
    """Applies entries chunk by chunk; the seed calls this with generated entries."""
    await write_in_chunks(lambda chunk, attempt: apply_chunk(db, chunk, provenance_id, attempt),
                          entries, report, "facility", CHUNK)


async def import_facilities(db: Database, path: Path, *, progress: ProgressSink | None = None,
                            run_id: int | None = None) -> ImportReport:
    """Imports a registry file; raises `FileUnreadable` when the file itself is unusable."""
    # No source of its own: the department's facility registry is kept by health staff.
    return await import_from_one_source(db, path, REQUIRED, ImportKind.FACILITIES,
                                        Source.HEALTH_STATION, read_facilities, write_facilities,
                                        progress=progress, run_id=run_id)


# --- Exporting ----------------------------------------------------------------

def write_facilities_csv(path: Path, entries: Iterable[FacilityEntry]) -> int:
    """A registry file, in the department's words, that `import_facilities` reads back
    as the same entries."""
    return write_csv(path, COLUMNS, ((e.code, e.name, KIND_WORDS[e.kind][0], e.ward_code)
                                     for e in entries))


__all__ = [
    "COLUMNS", "FacilityEntry", "apply_chunk", "import_facilities", "parse_row", "read_facilities",
    "write_facilities", "write_facilities_csv",
]
