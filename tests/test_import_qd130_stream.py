"""QĐ 130 files read as a stream: limits the operator can raise, times in the future, and
declared encodings that the bytes contradict."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from core.config import PROJECT_ROOT
from core.db import Database
from core.i18n import TIMEZONE, translator
from core.records.imports import qd130
from core.records.imports.qd130 import import_qd130_file
from core.records.imports.qd130_format import (
    EnvelopeStream,
    Qd130Limits,
    decode_qd130,
    encode_qd130,
    read_qd130_file,
)
from core.records.imports.qd130_writer import format_moment
from core.records.imports.qd130_xml import name
from core.records.imports.report import FileUnreadable
from core.records.operations import ImportRun, QuarantinedSubmission, QuarantineReason
from core.records.submission import PrescriptionLine, TestLine
from core.records.visit import Visit
from tests.test_import_qd130 import (
    AN,
    BINH,
    FACILITY,
    _b64,
    _count,
    _envelope,
    _good_hoso,
    _hoso,
    _roster,
    _tong_hop,
    _visit,
    _written,
)

EN = translator("en")


def _without_count(data: bytes) -> bytes:
    """The envelope without SOLUONGHOSO: a file that does not say how many records it holds."""
    start, end = data.index(b"<SOLUONGHOSO>"), data.index(b"</SOLUONGHOSO>")
    return data[:start] + data[end + len(b"</SOLUONGHOSO>"):]


async def _visit_keys(db: Database) -> list[str]:
    async with db.sessions() as session:
        return list((await session.scalars(select(Visit.visit_key).order_by(Visit.visit_key))).all())


# --- Limits -------------------------------------------------------------------------


async def test_a_file_over_the_size_limit_is_refused_and_nothing_of_it_is_imported(
        db: Database, tmp_path: Path) -> None:
    await _roster(db, tmp_path)
    path = _written(tmp_path, "big.xml", [_visit("LK-1"), _visit("LK-2"), _visit("LK-3")])
    size = path.stat().st_size

    with pytest.raises(FileUnreadable) as refused:
        await import_qd130_file(db, path, Qd130Limits(max_bytes=size - 1))

    message = refused.value.message
    assert message.msgid.startswith("The file is {size} MB, more than the {limit} MB")
    assert "--max-file-mb" in message.render(EN)
    assert await _count(db, Visit) == 0
    assert await _count(db, ImportRun) == 1  # the roster's only
    exactly = await import_qd130_file(db, path, Qd130Limits(max_bytes=size))
    assert exactly.created == 3


async def test_a_file_with_more_records_than_the_limit_imports_up_to_it_and_says_how_to_import_the_rest(
        db: Database, tmp_path: Path) -> None:
    await _roster(db, tmp_path)
    path = tmp_path / "many.xml"
    path.write_bytes(_without_count(_envelope(*(_good_hoso(f"LK-{n}") for n in range(1, 6)))))

    report = await import_qd130_file(db, path, Qd130Limits(max_records=3))

    assert (report.read, report.created, report.rejected) == (3, 3, 0)
    assert await _visit_keys(db) == ["LK-1", "LK-2", "LK-3"]
    note = report.problems[0]
    assert (note.rejected, note.message.params) == (False, {"found": 5, "limit": 3})
    rendered = "\n".join(report.render(EN))
    assert "holds 5 records, more than the 3 a file may have: only the first 3 were imported" \
        in rendered
    assert "--max-records 5" in rendered

    # Imports are idempotent: the same file with the limit raised completes it.
    rest = await import_qd130_file(db, path, Qd130Limits(max_records=5))
    assert (rest.read, rest.created, rest.unchanged) == (5, 2, 3)
    assert await _visit_keys(db) == [f"LK-{n}" for n in range(1, 6)]
    assert not [p for p in rest.problems if "may have" in p.message.msgid]


async def test_a_file_declaring_more_records_than_the_limit_is_refused_before_anything_is_imported(
        db: Database, tmp_path: Path) -> None:
    await _roster(db, tmp_path)
    path = _written(tmp_path, "declared.xml", [_visit("LK-1"), _visit("LK-2"), _visit("LK-3")])

    with pytest.raises(FileUnreadable) as refused:
        await import_qd130_file(db, path, Qd130Limits(max_records=2))

    assert refused.value.message.params == {"declared": 3, "limit": 2}
    assert "(SOLUONGHOSO)" in refused.value.message.render(EN)
    assert await _count(db, Visit) == 0
    assert await _count(db, ImportRun) == 1


def _cli(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DATABASE_URL": database_url, "EHR_LANG": "en", **env}
    for variable in ("EHR_QD130_MAX_RECORDS", "EHR_QD130_MAX_FILE_MB"):
        if variable not in env:
            environment.pop(variable, None)
    return subprocess.run([sys.executable, "-m", "core", "import-xml", *args], cwd=PROJECT_ROOT,
                          env=environment, capture_output=True, text=True, timeout=120, check=False)


async def test_operator_raises_the_limits_by_flag_or_environment_and_the_whole_file_goes_in(
        db: Database, tmp_path: Path) -> None:
    await _roster(db, tmp_path)
    path = tmp_path / "checkout.xml"
    path.write_bytes(_without_count(_envelope(*(_good_hoso(f"LK-{n}") for n in range(1, 5)))))

    capped = _cli(db.url, str(path), EHR_QD130_MAX_RECORDS="2")
    assert capped.returncode == 0, capped.stderr
    summary, note = capped.stdout.splitlines()[:2]
    assert summary.startswith("checkout.xml: read 2, created 2,")
    assert "holds 4 records, more than the 2" in note and "--max-records 4" in note

    raised = _cli(db.url, str(path), "--max-records", "4", EHR_QD130_MAX_RECORDS="2")
    assert raised.returncode == 0, raised.stderr
    assert raised.stdout.splitlines()[0].startswith(
        "checkout.xml: read 4, created 2, updated 0, unchanged 2")
    assert await _visit_keys(db) == ["LK-1", "LK-2", "LK-3", "LK-4"]

    # A file over 1 MB: refused at 1, taken in once the environment allows 2.
    big = _written(tmp_path, "big.xml", [_visit(f"B-{n}") for n in range(450)])
    assert 1_000_000 < big.stat().st_size < 2_000_000
    refused = _cli(db.url, str(big), "--max-file-mb", "1")
    assert refused.returncode == 2
    assert refused.stderr.startswith("big.xml: The file is 2 MB, more than the 1 MB")
    assert await _count(db, Visit) == 4
    allowed = _cli(db.url, str(big), EHR_QD130_MAX_FILE_MB="2")
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.startswith("big.xml: read 450, created 450")

    nonsense = _cli(db.url, str(path), "--max-records", "0")
    assert (nonsense.returncode, nonsense.stderr.strip()) == (
        2, "--max-records must be a whole number greater than zero.")


# --- Times in the future --------------------------------------------------------------


def _at(hours: float) -> dt.datetime:
    """A time this many hours from now, to the minute, in Hanoi time."""
    now = dt.datetime.now(TIMEZONE).replace(second=0, microsecond=0)
    return now + dt.timedelta(hours=hours)


async def test_a_visit_dated_in_the_future_goes_to_quarantine_and_the_other_visits_go_in(
        db: Database, tmp_path: Path) -> None:
    await _roster(db, tmp_path)
    ahead = format_moment(_at(72))  # a day and month swapped, a wrong year...
    skewed = format_moment(_at(2))  # a clinic's clock a little fast: within the tolerance
    path = tmp_path / "future.xml"
    path.write_bytes(_envelope(
        _good_hoso("LK-1"),
        _hoso(("XML1", _b64(_tong_hop(MA_LK="LK-AHEAD", SO_CCCD=AN, NGAY_VAO=ahead)))),
        _hoso(("XML1", _b64(_tong_hop(MA_LK="LK-SKEW", SO_CCCD=BINH, HO_TEN="Trần Thị Bình",
                                      NGAY_SINH="19900102", NGAY_VAO=skewed))))))

    report = await import_qd130_file(db, path)

    assert (report.read, report.created, report.rejected) == (3, 2, 1)
    [problem] = [p for p in report.problems if p.rejected]
    assert problem.where == "future.xml, HOSO 2, MA_LK LK-AHEAD"
    assert problem.message.params["reason"].msgid == \
        "NGAY_VAO (the arrival time) is in the future."
    assert ahead not in "\n".join(report.render(EN))  # the element is named, never the value
    async with db.sessions() as session:
        kept = await session.scalar(select(QuarantinedSubmission))
    assert (kept.reason, kept.visit_key) == (QuarantineReason.UNREADABLE, "LK-AHEAD")
    assert kept.detail == {"msgid": "NGAY_VAO (the arrival time) is in the future.", "params": {}}
    assert await _visit_keys(db) == ["LK-1", "LK-SKEW"]


def test_times_that_cannot_be_in_the_future_are_left_out_and_those_that_can_are_kept() -> None:
    admitted = _at(-1)
    later = _at(24 * 30)
    drug = PrescriptionLine("Amlodipin", "5mg", quantity=30.0, unit="viên", ordered_at=later)
    result = TestLine("Glucose máu", value="6.1", resulted_at=later)
    examination = _visit("LK-01", admitted_at=admitted, kind_code="01", discharged_at=later,
                         follow_ups=[later.date()], prescriptions=[drug], tests=[result])
    refill = _visit("LK-07", admitted_at=admitted, kind_code="07", discharged_at=later,
                    prescriptions=[], tests=[])

    first, second = decode_qd130(encode_qd130(FACILITY, [examination, refill], admitted)).records()

    visit = first.submission
    assert visit is not None
    assert visit.discharged_at is None  # an examination cannot end a month from now
    assert visit.follow_ups == [later.date()]  # an appointment is in the future by nature
    assert (visit.prescriptions[0].ordered_at, visit.tests[0].resulted_at) == (None, None)
    assert [m.msgid for m in first.warnings] == [
        "NGAY_RA is in the future, which only outpatient treatment (MA_LOAI_KCB 02, 05, 07 or "
        "08) allows; it was left out.",
        "{element} is in the future and was left out.",
        "{element} is in the future and was left out."]
    assert [m.params for m in first.warnings[1:]] == [{"element": "NGAY_YL"},
                                                     {"element": "NGAY_KQ"}]
    # QĐ 130 as amended by QĐ 4750: for medicine by appointment, NGAY_RA is the last day
    # the medicine covers.
    assert second.submission is not None and second.submission.discharged_at == later
    assert second.warnings == []


# --- Declared encodings the bytes contradict --------------------------------------------


def _declared(encoding: str | None, text: str, codec: str) -> bytes:
    declaration = f'<?xml version="1.0" encoding="{encoding}"?>' if encoding else ""
    return (declaration + text).encode(codec)


_NAME_1258 = "Nguy\u00ea\u0303n V\u0103n An"  # windows-1258 writes tones as combining marks


async def test_a_table_declaring_windows_1252_over_utf8_bytes_goes_to_quarantine_with_that_reason(
        db: Database, tmp_path: Path) -> None:
    await _roster(db, tmp_path)
    xml1 = _tong_hop(MA_LK="LK-1252", SO_CCCD=AN, HO_TEN="Nguyễn Văn An", NGAY_VAO="202503050830")
    path = tmp_path / "mangled.xml"
    path.write_bytes(_envelope(_good_hoso("LK-1"),
                               _hoso(("XML1", _b64(_declared("windows-1252", xml1, "utf-8")))),
                               _good_hoso("LK-3", BINH)))

    report = await import_qd130_file(db, path)

    assert (report.read, report.created, report.rejected) == (3, 2, 1)
    [problem] = [p for p in report.problems if p.rejected]
    assert problem.where == "mangled.xml, HOSO 2"
    assert problem.message.render(EN).startswith(
        "The XML1 table declares windows-1252 but its bytes are UTF-8; it was not read")
    async with db.sessions() as session:
        kept = await session.scalar(select(QuarantinedSubmission))
    assert kept.reason is QuarantineReason.UNREADABLE
    assert kept.detail["params"] == {"table": "XML1", "declared": "windows-1252"}
    assert await _visit_keys(db) == ["LK-1", "LK-3"]


@pytest.mark.parametrize(("declared", "text", "codec"), [
    ("utf-8", _NAME_1258, "cp1258"),
    ("UTF-8", "Trân Thi Bình", "latin-1"),
    (None, "Lê Van Cuong", "latin-1"),
])
def test_a_table_declaring_utf8_over_one_byte_text_is_named_for_what_it_is(
        declared: str | None, text: str, codec: str) -> None:
    xml1 = _tong_hop(MA_LK="LK-1", NGAY_VAO="202503050830", HO_TEN=text)
    [record] = decode_qd130(_envelope(_hoso(("XML1", _b64(_declared(declared, xml1, codec))))))\
        .records()
    assert record.submission is None and record.problem is not None
    assert record.problem.msgid.startswith(
        "The {table} table is UTF-8 by its declaration (or by default) but its bytes are not")


def test_a_table_truly_in_windows_1258_is_read_as_it_declares() -> None:
    xml1 = _tong_hop(MA_LK="LK-1", NGAY_VAO="202503050830", HO_TEN=_NAME_1258,
                     DIA_CHI="Ph\u01b0\u01a1ng Ho\u00e0n Ki\u00ea\u0301m")
    [record] = decode_qd130(_envelope(_hoso(
        ("XML1", _b64(_declared("windows-1258", xml1, "cp1258")))))).records()
    assert record.problem is None and record.submission is not None
    assert (record.submission.full_name, record.submission.address) == (
        "Nguyễn Văn An", "Phương Hoàn Kiếm")


@pytest.mark.parametrize(("data", "reason"), [
    (_envelope().replace(b'encoding="utf-8"', b'encoding="windows-1252"')
     .replace(b"<THONGTINDONVI>", "<THONGTINDONVI><TENCSKCB>Bệnh viện Bạch Mai</TENCSKCB>"
              .encode()),
     "The file declares {declared} but its bytes are UTF-8; nothing of it was imported, "
     "so that no name is misread."),
    (_envelope().replace(b"<THONGTINDONVI>", "<THONGTINDONVI><TENCSKCB>Hôpital Saint-Paul"
                                             "</TENCSKCB>".encode("latin-1")),
     "The file is UTF-8 by its declaration (or by default) but its bytes are not UTF-8; "
     "nothing of it was imported."),
])
async def test_a_file_whose_declared_encoding_its_bytes_contradict_is_refused_whole(
        db: Database, tmp_path: Path, data: bytes, reason: str) -> None:
    await _roster(db, tmp_path)
    path = tmp_path / "envelope.xml"
    path.write_bytes(data.replace(b"</DANHSACHHOSO>",
                                  _good_hoso("LK-1").encode() + b"</DANHSACHHOSO>"))

    with pytest.raises(FileUnreadable) as refused:
        await import_qd130_file(db, path)

    assert refused.value.message.msgid == reason
    assert await _count(db, Visit) == 0


# --- Streaming ---------------------------------------------------------------------------


def test_the_reader_keeps_no_record_once_it_has_handed_it_out() -> None:
    visits = [_visit(f"LK-{n}") for n in range(400)]
    data = encode_qd130(FACILITY, visits, _at(-1))
    stream = EnvelopeStream(io.BytesIO(data), len(data), survey=False)
    per_chunk = 2 + (1 << 16) // (len(data) // len(visits))  # HOSOs that one read can hold
    handed: list[object] = []

    for hoso in stream.hosos():
        assert stream.root is not None
        in_tree = [e for e in stream.root.iter() if name(e) == "HOSO"]
        assert not {id(e) for e in in_tree} & {id(e) for e in [*handed, hoso]}
        assert len(in_tree) <= per_chunk  # what was read and not yet handed out, no more
        handed.append(hoso)

    assert len(handed) == 400
    assert stream.root is not None and len(list(stream.root.iter())) == 1  # the root alone


async def test_a_file_cut_short_after_many_records_is_refused_and_nothing_of_it_is_imported(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    await _roster(db, tmp_path)
    monkeypatch.setattr(qd130, "CHUNK", 2)  # a one-pass reader would have written some
    path = _written(tmp_path, "cut.xml", [_visit(f"LK-{n}") for n in range(8)])
    path.write_bytes(path.read_bytes()[:-400])

    with pytest.raises(FileUnreadable) as refused:
        await import_qd130_file(db, path)

    assert refused.value.message.msgid.startswith("The file is not well-formed XML")
    assert await _count(db, Visit) == 0
    assert await _count(db, ImportRun) == 1


def test_the_envelope_facility_names_records_even_when_it_comes_after_them() -> None:
    hoso = _hoso(("XML1", _b64(_tong_hop(MA_LK="LK-1", NGAY_VAO="202503050830"))))
    data = (f'<?xml version="1.0" encoding="utf-8"?><GIAMDINHHS><THONGTINHOSO><DANHSACHHOSO>'
            f"{hoso}</DANHSACHHOSO><SOLUONGHOSO>1</SOLUONGHOSO></THONGTINHOSO><THONGTINDONVI>"
            f"<MACSKCB>{FACILITY}</MACSKCB></THONGTINDONVI></GIAMDINHHS>").encode()

    envelope = decode_qd130(data)
    [record] = envelope.records()

    assert (envelope.facility_code, envelope.declared_count, envelope.warnings) == (
        FACILITY, 1, [])
    assert record.submission is not None and record.submission.facility_code == FACILITY


async def test_a_file_that_changes_while_it_is_imported_says_which_records_were_not(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    await _roster(db, tmp_path)
    path = _written(tmp_path, "moving.xml", [_visit(f"LK-{n}") for n in range(1, 6)])
    surveyed = qd130.read_qd130_file

    def then_cut(path: Path, limits: Qd130Limits) -> object:
        envelope = surveyed(path, limits)
        data = path.read_bytes()
        path.write_bytes(data[:data.index(b"<HOSO>", data.index(b"</HOSO>")) + 300])
        return envelope

    monkeypatch.setattr(qd130, "read_qd130_file", then_cut)

    report = await import_qd130_file(db, path)

    assert (report.read, report.created, report.rejected) == (1, 1, 1)
    [problem] = [p for p in report.problems if p.rejected]
    assert problem.message.params == {"n": 1}
    assert "the records after HOSO 1 were not imported" in problem.message.render(EN)
    async with db.sessions() as session:
        run = await session.scalar(select(ImportRun).where(ImportRun.file_name == "moving.xml"))
    assert (run.read, run.created, run.rejected, run.finished_at is not None) == (1, 1, 1, True)


def test_a_utf16_file_is_read_as_before(tmp_path: Path) -> None:
    visits = [_visit("LK-1"), _visit("LK-2", full_name="Trần Thị Bình")]
    utf8 = encode_qd130(FACILITY, visits, _at(-1))
    path = tmp_path / "utf16.xml"
    path.write_bytes(utf8.decode().replace("encoding='utf-8'", "encoding='utf-16'")
                     .encode("utf-16"))

    records = list(read_qd130_file(path).records())

    assert [r.submission for r in records] == visits


def test_entity_declarations_after_a_long_comment_are_still_refused() -> None:
    comment = "<!--" + "x" * 300_000 + "-->"  # the prolog spans several reads
    bomb = (f'<?xml version="1.0"?>{comment}<!DOCTYPE GIAMDINHHS [<!ENTITY a "aaaa">'
            '<!ENTITY b "&a;&a;&a;">]><GIAMDINHHS>&b;</GIAMDINHHS>').encode()
    with pytest.raises(FileUnreadable) as refused:
        decode_qd130(bomb)
    assert "entities" in refused.value.message.msgid
