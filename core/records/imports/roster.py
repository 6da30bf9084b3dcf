"""`import-roster`: the population and social-insurance roster (CSV).

Columns (only the first three required, unknown columns ignored):
so_dinh_danh, ho_ten, ngay_sinh, gioi_tinh, dan_toc, quoc_tich, nghe_nghiep,
dien_thoai, email, ma_xa, dia_chi, ma_the_bhyt, ma_dkbd, gt_the_tu, gt_the_den,
nhom_mau, trang_thai, so_dinh_danh_nguoi_giam_ho.

A bad required value (ID, name, date of birth) rejects the row; a bad optional
value is left out, the rest of the row is taken in, and the line is reported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from core import validation as v
from core.db import Database
from core.i18n import N_, Message
from core.records.imports.chunks import (
    left_out,
    open_watched,
    optional_value,
    parse_entries,
)
from core.records.imports.csvfile import CsvFile, write_csv
from core.records.imports.progress import ProgressSink
from core.records.imports.report import ImportReport
from core.records.imports.roster_apply import RosterSources, write_entries
from core.records.imports.roster_entry import CardEntry, RosterEntry
from core.records.imports.runs import finish_run, start_run
from core.records.operations import ImportKind
from core.records.provenance import Source
from core.values import CitizenStatus, PartialDate, Sex

REQUIRED = ("so_dinh_danh", "ho_ten", "ngay_sinh")
COLUMNS = (
    *REQUIRED, "gioi_tinh", "dan_toc", "quoc_tich", "nghe_nghiep", "dien_thoai", "email", "ma_xa",
    "dia_chi", "ma_the_bhyt", "ma_dkbd", "gt_the_tu", "gt_the_den", "nhom_mau", "trang_thai",
    "so_dinh_danh_nguoi_giam_ho",
)
# --- Parsing ------------------------------------------------------------------

_BIRTH = Message(N_("The date of birth"))


@lru_cache(maxsize=4096)  # a file's cards share a few thousand start and end days
def _card_day(text: str) -> dt.date:
    return v.calendar_date(text, past_only=False)


@lru_cache(maxsize=1024)  # a few dozen occupations
def _occupation(text: str) -> str:
    return v.free_text(text)


# The optional columns read alike, each into its attribute, in the order their notes are listed.
_OPTIONAL: tuple[tuple[str, Callable[[str], Any], str], ...] = (
    ("gioi_tinh", v.sex, "sex"),
    ("dan_toc", v.ethnicity, "ethnicity_code"),
    ("quoc_tich", v.nationality, "nationality"),
    ("nghe_nghiep", _occupation, "occupation"),
    ("dien_thoai", v.phone, "phone"),
    ("email", v.email, "email"),
    ("ma_xa", v.ward_code, "ward_code"),
    ("dia_chi", v.free_text, "street_address"),
    ("nhom_mau", v.blood_group, "blood_group"),
)


def parse_row(values: dict[str, str], line: int | None = None) -> RosterEntry:
    """Validates one roster row; raises `InvalidValue` when a required value is bad."""
    personal_id = v.personal_id(values["so_dinh_danh"])
    name = v.full_name(values["ho_ten"])
    birth = v.partial_date(values["ngay_sinh"], _BIRTH)
    warnings: list[Message] = []
    entry = RosterEntry(personal_id, name, birth, line=line, warnings=warnings)
    get = values.get
    for column, validator, attribute in _OPTIONAL:  # `optional_value`, inlined: a million rows
        text = get(column)
        if text:
            try:
                setattr(entry, attribute, validator(text))
            except v.InvalidValue as error:
                warnings.append(left_out(column, error))
    entry.status = v.citizen_status(values.get("trang_thai", "")) if "trang_thai" in values \
        else None
    entry.guardian_personal_id = optional_value(values, "so_dinh_danh_nguoi_giam_ho",
                                                v.personal_id, warnings)
    if entry.guardian_personal_id == personal_id:
        warnings.append(Message(N_("A person cannot be their own guardian; guardian left empty.")))
        entry.guardian_personal_id = None
    conflict = v.personal_id_disagreement(personal_id, entry.sex, birth)
    if conflict is not None:
        warnings.append(conflict.report_message)
    card = optional_value(values, "ma_the_bhyt", v.insurance_card, warnings)
    if card is not None:
        facility = optional_value(values, "ma_dkbd", v.facility_code, warnings)
        valid_from = optional_value(values, "gt_the_tu", _card_day, warnings)
        valid_to = optional_value(values, "gt_the_den", _card_day, warnings)
        if valid_from and valid_to and valid_to < valid_from:
            warnings.append(Message(N_("The card's end date is before its start date; "
                                       "validity dates left empty.")))
            valid_from = valid_to = None
        entry.card = CardEntry(card, facility, valid_from, valid_to)
    return entry


def read_roster(source: CsvFile, report: ImportReport) -> Iterator[RosterEntry]:
    """Entries of a roster file; bad rows go to the report with their line. A repeated
    personal ID is refused when written (`apply_chunk`), against the run's staging table."""
    return parse_entries(source, report, parse_row)


async def import_roster(db: Database, path: Path, *, progress: ProgressSink | None = None,
                        run_id: int | None = None) -> ImportReport:
    """Imports a roster file; raises `FileUnreadable` when the file itself is unusable.
    `progress` is told how far the reading is; `run_id` is the run `start_import` recorded."""
    source, report, watch = open_watched(path, REQUIRED, progress)
    run_id, provenance = await start_run(db, ImportKind.ROSTER, path.name, source.sha256,
                                         (Source.POPULATION_DB, Source.SOCIAL_INSURANCE),
                                         run_id=run_id)
    sources = RosterSources(provenance[Source.POPULATION_DB], provenance[Source.SOCIAL_INSURANCE])
    await write_entries(db, read_roster(source, report), sources, report)
    if watch is not None:
        watch.finish(report.read)
    await finish_run(db, run_id, report)
    return report


# --- Writing (the seed's export) ----------------------------------------------

_SEX_WORDS = {Sex.MALE: "Nam", Sex.FEMALE: "Nữ", Sex.UNDETERMINED: "3"}
_STATUS_WORDS = {CitizenStatus.ACTIVE: "", CitizenStatus.MOVED_AWAY: "chuyen_di",
                 CitizenStatus.DECEASED: "tu_vong"}


def _roster_date(value: PartialDate) -> str:
    if value.month is None:
        return f"{value.year:04d}"
    if value.day is None:
        return f"{value.month:02d}/{value.year:04d}"
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"


def _day(value: dt.date | None) -> str | None:
    return value.strftime("%d/%m/%Y") if value else None


def roster_row(entry: RosterEntry) -> tuple[object, ...]:
    """One entry as a roster line that `parse_row` reads back as the same entry."""
    card = entry.card
    return (
        entry.personal_id, entry.full_name, _roster_date(entry.birth_date),
        _SEX_WORDS[entry.sex] if entry.sex else None, entry.ethnicity_code, entry.nationality,
        entry.occupation, "0" + entry.phone[3:] if entry.phone else None, entry.email,
        entry.ward_code, entry.street_address,
        card.number.number if card else None, card.registered_facility_code if card else None,
        _day(card.valid_from) if card else None, _day(card.valid_to) if card else None,
        entry.blood_group.code() if entry.blood_group else None,
        _STATUS_WORDS[entry.status] if entry.status else None, entry.guardian_personal_id,
    )


def write_roster_csv(path: Path, entries: Iterable[RosterEntry]) -> int:
    return write_csv(path, COLUMNS, (roster_row(e) for e in entries))


__all__ = [
    "COLUMNS", "REQUIRED", "CardEntry", "RosterEntry", "RosterSources", "import_roster",
    "parse_row", "read_roster", "roster_row", "write_entries", "write_roster_csv",
]
