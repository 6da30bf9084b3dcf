"""`import-immunizations`: doses from the immunization registry (CSV).

Columns: so_dinh_danh, ten_vac_xin, mui_thu, ngay_tiem, ma_co_so, so_lo,
chuong_trinh (all but ma_co_so and so_lo required; unknown columns ignored).

A dose belongs to the resident with that personal ID; a dose for nobody on
record is rejected, never guessed. One dose of one vaccine on one day is one
row: the same row again changes nothing, a corrected lot, place or programme
updates it (QĐ 831/QĐ-BYT, part 3).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from core import validation as v
from core.db import Database
from core.i18n import N_, Message, now_utc
from core.records.citizen import Citizen
from core.records.immunization import Immunization, Programme
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
from core.reference.vaccines import antigens_for
from core.text import fold

REQUIRED = ("so_dinh_danh", "ten_vac_xin", "mui_thu", "ngay_tiem", "chuong_trinh")
COLUMNS = ("so_dinh_danh", "ten_vac_xin", "mui_thu", "ngay_tiem", "ma_co_so", "so_lo",
           "chuong_trinh")
CHUNK = 2000
MAX_DOSE = 10

# The registry's programme codes; the enum values and Vietnamese names are accepted too.
PROGRAMME_CODES = {Programme.EPI: "tcmr", Programme.COVID19: "covid19",
                   Programme.SERVICE: "dich_vu"}
_PROGRAMME_WORDS = {
    **{fold(code): programme for programme, code in PROGRAMME_CODES.items()},
    **{fold(programme.value): programme for programme in Programme},
    "tiemchungmorong": Programme.EPI, "covid": Programme.COVID19, "tiemdichvu": Programme.SERVICE,
}

Key = tuple[str, str, int, dt.date]


@dataclass
class ImmunizationEntry:
    """One dose as the registry states it; also what the seed generates."""

    personal_id: str
    vaccine: str
    dose_number: int
    given_on: dt.date
    programme: Programme
    facility_code: str | None = None
    lot: str | None = None
    line: int | None = field(default=None, compare=False)
    warnings: list[Message] = field(default_factory=list, compare=False)

    @property
    def antigens(self) -> str | None:
        return antigens_for(self.vaccine)

    @property
    def key(self) -> Key:
        return (self.personal_id, self.vaccine, self.dose_number, self.given_on)


# --- Parsing ------------------------------------------------------------------

def _fail(msgid: str, **params: object) -> v.InvalidValue:
    return v.InvalidValue(Message(msgid, params))


def vaccine_name(text: str) -> str:
    value = v.free_text(text, max_length=200)
    if not value:
        raise _fail(N_("The vaccine name is missing."))
    return value


def dose_number(text: str) -> int:
    value = (text or "").strip()
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_DOSE:
        raise _fail(N_("The dose number must be a whole number from 1 to {max}."), max=MAX_DOSE)
    return int(value)


def programme(text: str) -> Programme:
    found = _PROGRAMME_WORDS.get(fold(text or ""))
    if found is None:
        raise _fail(N_("The programme must be tcmr, covid19 or dich_vu."))
    return found


_GIVEN_ON = Message(N_("The vaccination date"))


def parse_row(values: dict[str, str], line: int | None = None) -> ImmunizationEntry:
    """Validates one registry row; raises `InvalidValue` when a required value is bad."""
    entry = ImmunizationEntry(
        personal_id=v.personal_id(values["so_dinh_danh"]),
        vaccine=vaccine_name(values["ten_vac_xin"]),
        dose_number=dose_number(values["mui_thu"]),
        given_on=v.calendar_date(values["ngay_tiem"], what=_GIVEN_ON),
        programme=programme(values["chuong_trinh"]),
        line=line,
    )
    entry.facility_code = optional_value(values, "ma_co_so", v.facility_code, entry.warnings)
    entry.lot = optional_value(values, "so_lo", lambda t: v.free_text(t, max_length=50),
                               entry.warnings)
    return entry


def read_immunizations(source: CsvFile, report: ImportReport) -> Iterator[ImmunizationEntry]:
    """Valid entries of a registry file; bad rows go to the report with their line."""
    return read_entries(source, report, parse_row, lambda entry: entry.key,
                        N_("The same dose already appears on line {line} of this file."))


# --- Applying -----------------------------------------------------------------

_CITIZENS = Citizen.__table__
_DOSES = Immunization.__table__
# What a later registry file may correct about a dose it already sent.
_DETAILS = ("antigens", "facility_code", "lot", "programme")


def _details(entry: ImmunizationEntry) -> dict[str, Any]:
    return {"antigens": entry.antigens, "facility_code": entry.facility_code,
            "lot": entry.lot, "programme": entry.programme}


async def apply_chunk(db: Database, entries: list[ImmunizationEntry], provenance_id: int,
                      report: ImportReport) -> None:
    """Writes one chunk in one transaction: new doses and corrected ones."""
    now = now_utc()
    async with db.connection() as connection:
        citizens = {row.personal_id: row for row in await connection.execute(
            select(_CITIZENS.c.id, _CITIZENS.c.personal_id, _CITIZENS.c.birth_date)
            .where(_CITIZENS.c.personal_id.in_(sorted({e.personal_id for e in entries}))))}
        existing = {
            (row.citizen_id, row.vaccine, row.dose_number, row.given_on): row
            for row in await connection.execute(select(_DOSES).where(
                _DOSES.c.citizen_id.in_([c.id for c in citizens.values()])))
        } if citizens else {}

        new_rows: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for entry in entries:
            citizen = citizens.get(entry.personal_id)
            if citizen is None:
                report.reject(entry.line, Message(N_("No resident has this personal ID.")))
                continue
            # A year-only birth date still rules out a dose before that year.
            if entry.given_on < citizen.birth_date.earliest():
                report.reject(entry.line, Message(N_(
                    "The vaccination date is before the person's date of birth.")))
                continue
            details = _details(entry)
            row = existing.get((citizen.id, entry.vaccine, entry.dose_number, entry.given_on))
            if row is None:
                new_rows.append({"citizen_id": citizen.id, "vaccine": entry.vaccine,
                                 "dose_number": entry.dose_number, "given_on": entry.given_on,
                                 **details, "provenance_id": provenance_id, "recorded_at": now})
                report.created += 1
            elif any(getattr(row, name) != details[name] for name in _DETAILS):
                updates.append({"_id": row.id, **details, "provenance_id": provenance_id,
                                "recorded_at": now})
                report.updated += 1
            else:
                report.unchanged += 1

        if new_rows:
            await connection.execute(insert(_DOSES), new_rows)
        if updates:
            await connection.execute(
                update(_DOSES).where(_DOSES.c.id == bindparam("_id")), updates)


async def write_immunizations(db: Database, entries: Iterable[ImmunizationEntry],
                              provenance_id: int, report: ImportReport) -> None:
    """Applies entries chunk by chunk; the seed calls this with generated entries."""
    await write_in_chunks(lambda chunk, attempt: apply_chunk(db, chunk, provenance_id, attempt),
                          entries, report, "immunization", CHUNK)


async def import_immunizations(db: Database, path: Path, *,
                               progress: ProgressSink | None = None,
                               run_id: int | None = None) -> ImportReport:
    """Imports a registry file; raises `FileUnreadable` when the file itself is unusable."""
    return await import_from_one_source(db, path, REQUIRED, ImportKind.IMMUNIZATIONS,
                                        Source.IMMUNIZATION_REGISTRY, read_immunizations,
                                        write_immunizations,
                                        progress=progress, run_id=run_id)


# --- Exporting ----------------------------------------------------------------

def write_immunizations_csv(path: Path, entries: Iterable[ImmunizationEntry]) -> int:
    """A registry file `import_immunizations` reads back as the same entries."""
    return write_csv(path, COLUMNS, (
        (e.personal_id, e.vaccine, e.dose_number, e.given_on.strftime("%d/%m/%Y"),
         e.facility_code, e.lot, PROGRAMME_CODES[e.programme])
        for e in entries
    ))


__all__ = [
    "COLUMNS", "ImmunizationEntry", "apply_chunk", "import_immunizations", "parse_row",
    "read_immunizations", "write_immunizations", "write_immunizations_csv",
]
