"""An import report names the line and what is wrong, never the rejected personal value.

The operator reads the report and keeps it; the person who typed a value in the chat
still sees it quoted back (they typed it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import validation as v
from core.db import Database
from core.i18n import translator
from core.records.imports import facilities, immunizations
from core.records.imports.facilities import import_facilities
from core.records.imports.immunizations import import_immunizations
from core.records.imports.report import ImportReport
from core.records.imports.roster import import_roster
from core.values import PartialDate
from tests.test_import_roster import AN, citizen, roster, run_cli

EN, VI = translator("en"), translator("vi")


def lines(report: ImportReport) -> str:
    return "\n".join(report.render(EN) + report.render(VI))


def row(**changes: str) -> str:
    """Nguyễn Văn An's roster line with some columns changed."""
    columns = ("so_dinh_danh,ho_ten,ngay_sinh,gioi_tinh,dan_toc,quoc_tich,nghe_nghiep,dien_thoai,"
               "email,ma_xa,dia_chi,ma_the_bhyt,ma_dkbd,gt_the_tu,gt_the_den,nhom_mau,trang_thai,"
               "so_dinh_danh_nguoi_giam_ho").split(",")
    values = dict(zip(columns, AN.split(","), strict=True))
    values.update(changes)
    return ",".join(values[c] for c in columns)


async def test_a_roster_row_with_an_impossible_birth_date_is_reported_by_line_and_reason_without_the_date(
        db: Database, tmp_path: Path) -> None:
    report = await import_roster(db, roster(tmp_path, row(ngay_sinh="31/02/1990")))
    assert report.rejected == 1
    assert "  roster.csv, line 2: rejected: The date of birth is not a real date." in report.render(EN)
    assert "  roster.csv, dòng 2: bị từ chối: Ngày sinh không phải là ngày có thật." in report.render(VI)
    assert "31/02" not in lines(report)


async def test_a_roster_rows_unknown_ethnicity_ward_nationality_and_card_province_are_noted_without_them(
        db: Database, tmp_path: Path) -> None:
    report = await import_roster(db, roster(tmp_path, row(
        dan_toc="Klingon", quoc_tich="Atlantis", ma_xa="99999", ma_the_bhyt="DN4030123456789")))
    assert (report.created, report.rejected) == (1, 0)  # the row is taken in without them
    rendered = report.render(EN)
    for note in ("dan_toc left empty: The ethnic group is not one of the 54 groups of Việt Nam.",
                 "quoc_tich left empty: The nationality is not a known country.",
                 "ma_xa left empty: The ward code is not one of Hanoi's 126 current wards and communes.",
                 "ma_the_bhyt left empty: The insurance card number has an unknown province code."):
        assert f"  roster.csv, line 2: note: {note}" in rendered
    for value in ("Klingon", "Atlantis", "99999", "DN4030123456789", "code 03", "tỉnh 03"):
        assert value not in lines(report)
    an = await citizen(db, "001090001234")
    assert (an.ethnicity_code, an.nationality, an.ward_code) == (None, None, None)


async def test_an_id_whose_birth_year_disagrees_with_the_date_of_birth_is_noted_without_either_year(
        db: Database, tmp_path: Path) -> None:
    report = await import_roster(db, roster(tmp_path, row(ngay_sinh="15/07/1991")))
    assert "  roster.csv, line 2: note: The birth year in the personal ID differs from the date of " \
           "birth." in report.render(EN)
    assert "1990" not in lines(report) and "1991" not in lines(report)
    assert (await citizen(db, "001090001234")).birth_date == PartialDate(1991, 7, 15)


async def test_an_immunization_row_with_an_impossible_date_is_reported_by_line_without_the_date(
        db: Database, tmp_path: Path) -> None:
    registry = tmp_path / "registry.csv"
    registry.write_text(",".join(immunizations.COLUMNS) + "\n"
                        "001090001234,Comirnaty,1,30/02/2022,01001,FF2587,covid19\n"
                        "001090001234,Comirnaty,2,20/09/2021,99,FG4509,covid19\n", encoding="utf-8")
    report = await import_immunizations(db, registry)
    rendered = report.render(EN)
    assert "  registry.csv, line 2: rejected: The vaccination date is not a real date." in rendered
    assert "  registry.csv, line 3: note: ma_co_so left empty: A facility code must be 5 digits." \
        in rendered
    assert "30/02" not in lines(report)


async def test_a_facility_row_with_an_unknown_ward_is_noted_without_the_code(
        db: Database, tmp_path: Path) -> None:
    registry = tmp_path / "facilities.csv"
    registry.write_text(",".join(facilities.COLUMNS) + "\n"
                        "01003,Trạm Y tế Xã Ngoài,tram_y_te,12345\n", encoding="utf-8")
    report = await import_facilities(db, registry)
    assert "  facilities.csv, line 2: note: ma_xa left empty: The ward code is not one of Hanoi's " \
           "126 current wards and communes." in report.render(EN)
    assert "12345" not in lines(report)


def test_the_import_command_prints_lines_and_reasons_but_no_rejected_value(tmp_path: Path) -> None:
    database = tmp_path / "cli.sqlite3"
    assert run_cli("migrate", database=database).returncode == 0
    path = roster(tmp_path,
                  row(ngay_sinh="31/02/1990"),
                  row(so_dinh_danh="001090004321", ngay_sinh="14/03/1991", dan_toc="Klingon",
                      quoc_tich="Atlantis", ma_xa="99999"),
                  name="roster.csv")
    done = run_cli("import-roster", str(path), database=database)
    assert done.returncode == 0, done.stderr
    assert "line 2: rejected: The date of birth is not a real date." in done.stdout
    assert "line 3: note: The birth year in the personal ID differs from the date of birth." \
        in done.stdout
    printed = done.stdout + done.stderr
    for value in ("31/02/1990", "1991", "1990", "Klingon", "Atlantis", "99999", "001090001234",
                  "001090004321"):
        assert value not in printed


# --- The validators' two messages -------------------------------------------------

QUOTING: list[tuple[Callable[[str], object], str, str]] = [
    (v.partial_date, "31/02/1990", "31/02/1990"),
    (lambda t: v.calendar_date(t, past_only=False), "30/02/2030", "30/02/2030"),
    (v.ethnicity, "Klingon", "Klingon"),
    (v.nationality, "Atlantis", "Atlantis"),
    (v.ward_code, "99999", "99999"),
    (v.insurance_card, "DN4030123456789", "03"),
]


@pytest.mark.parametrize(("validator", "typed", "quoted"), QUOTING)
def test_the_chat_quotes_what_the_person_typed_and_the_report_does_not(
        validator: Callable[[str], object], typed: str, quoted: str) -> None:
    with pytest.raises(v.InvalidValue) as refused:
        validator(typed)
    for t in (EN, VI):
        assert quoted in refused.value.message.render(t)
        assert quoted not in refused.value.report_message.render(t)


def test_the_id_and_birth_year_disagreement_names_the_years_only_in_the_persons_own_book() -> None:
    found = v.personal_id_disagreement("001090001234", None, PartialDate(1991))
    assert found is not None
    assert "1990" in found.message.render(EN) and "1991" in found.message.render(EN)
    assert "1990" not in found.report_message.render(EN)
    assert "1991" not in found.report_message.render(EN)
    assert v.personal_id_conflict("001090001234", None, PartialDate(1991)) == found.message


VALIDATORS: list[Callable[[str], object]] = [
    v.personal_id, v.insurance_card, v.facility_code, v.phone, v.ward_code, v.full_name,
    v.partial_date, v.partial_date_any, v.calendar_date, v.sex, v.blood_group, v.ethnicity,
    v.nationality, v.email, v.citizen_status, lambda t: v.free_text(t, 8),
    immunizations.vaccine_name, immunizations.dose_number, immunizations.programme,
    facilities.facility_name, facilities.facility_kind,
]
TYPED = st.one_of(
    st.text(min_size=6, max_size=20),
    st.from_regex(r"[0-9]{1,2}/[0-9]{1,2}/(19|20)[0-9]{2}", fullmatch=True),
    st.from_regex(r"[1-9][0-9]{4}", fullmatch=True),
    st.from_regex(r"[A-Z]{2}[1-5][0-9]{12}", fullmatch=True),
    st.from_regex(r"[A-Z][a-z]{5,9}", fullmatch=True),
)


@given(st.sampled_from(VALIDATORS), TYPED)
def test_no_report_reason_ever_quotes_the_value_it_refuses(validator: Callable[[str], object],
                                                           typed: str) -> None:
    try:
        validator(typed)
    except v.InvalidValue as refused:
        value = typed.strip()
        if len(value) < 5:  # too short to tell from the reason's own words
            return
        for t in (EN, VI):
            assert value not in refused.report_message.render(t)
