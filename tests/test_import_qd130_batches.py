"""Many QĐ 130 files at once: shared transactions, each file still its own run and report."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from xml.etree.ElementTree import tostring

import defusedxml.ElementTree as SafeET
import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from core.db import Database
from core.records.citizen import FieldChange
from core.records.history import Condition
from core.records.imports import qd130, qd130_apply
from core.records.imports.qd130 import import_qd130_each, import_qd130_files
from core.records.imports.qd130_apply import content_hash
from core.records.imports.qd130_format import _parse_xml, decode_qd130
from core.records.imports.report import FileUnreadable
from core.records.operations import ImportRun, QuarantinedSubmission
from core.records.provenance import Provenance
from core.records.submission import VisitSubmission
from core.records.visit import Prescription, TestResult, Visit
from tests.test_import_qd130 import (
    AN,
    STRANGER,
    _b64,
    _binh,
    _count,
    _envelope,
    _good_hoso,
    _hoso,
    _roster,
    _submissions,
    _tong_hop,
    _visit,
    _written,
)


async def _runs(db: Database) -> list[tuple[str, int, int, int, bool]]:
    async with db.sessions() as session:
        runs = (await session.scalars(select(ImportRun).order_by(ImportRun.id))).all()
    return [(r.file_name, r.read, r.created, r.rejected, r.finished_at is not None) for r in runs]


async def test_small_files_share_transactions_but_each_keeps_its_run_and_report(
        db: Database, tmp_path: Path) -> None:
    await _roster(db, tmp_path)
    files = [_written(tmp_path, "a.xml", [_visit("A-1")]),
             _written(tmp_path, "b.xml", [_visit("B-1"), _binh("B-2", card_number=None)]),
             _written(tmp_path, "c.xml", [])]

    outcomes = [outcome async for _, outcome in import_qd130_each(db, files)]

    assert [(r.file_name, r.read, r.created) for r in outcomes] == [
        ("a.xml", 1, 1), ("b.xml", 2, 2), ("c.xml", 0, 0)]
    assert (await _runs(db))[1:] == [("a.xml", 1, 1, 0, True), ("b.xml", 2, 2, 0, True),
                                     ("c.xml", 0, 0, 0, True)]
    # Each visit carries its own provenance row, whatever order the ids came back in.
    async with db.sessions() as session:
        pairs = (await session.execute(select(Visit.visit_key, Provenance.reference).join(
            Provenance, Provenance.id == Visit.provenance_id))).all()
    assert sorted(pairs) == [(k, f"01001/{k}") for k in ("A-1", "B-1", "B-2")]


async def test_a_large_file_goes_in_several_chunks_under_one_run(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    await _roster(db, tmp_path)
    monkeypatch.setattr(qd130, "CHUNK", 2)
    files = [_written(tmp_path, "small.xml", [_visit("S-1")]),
             _written(tmp_path, "large.xml", [_visit(f"L-{n}") for n in range(5)]),
             _written(tmp_path, "after.xml", [_visit("S-1"), _visit("S-2")])]

    total = await import_qd130_files(db, files)

    assert (total.read, total.created, total.unchanged) == (8, 7, 1)
    assert (await _runs(db))[1:] == [("small.xml", 1, 1, 0, True), ("large.xml", 5, 5, 0, True),
                                     ("after.xml", 2, 1, 0, True)]
    assert await _count(db, Visit) == 7


async def test_an_unreadable_file_stops_the_batch_after_the_files_before_it(
        db: Database, tmp_path: Path) -> None:
    await _roster(db, tmp_path)
    broken = tmp_path / "broken.xml"
    broken.write_text("not a checkout file", encoding="utf-8")
    files = [_written(tmp_path, "a.xml", [_visit("A-1")]), broken,
             _written(tmp_path, "c.xml", [_visit("C-1")])]

    with pytest.raises(FileUnreadable):
        await import_qd130_files(db, files)

    assert [run[0] for run in await _runs(db)][1:] == ["a.xml"]
    assert await _count(db, Visit) == 1

    # The operator's command goes on past it and says which file it was.
    outcomes = [(path.name, outcome) async for path, outcome in import_qd130_each(db, files)]
    assert [name for name, _ in outcomes] == ["a.xml", "broken.xml", "c.xml"]
    assert isinstance(outcomes[1][1], FileUnreadable)
    assert (outcomes[0][1].unchanged, outcomes[2][1].created) == (1, 1)


async def test_a_refused_record_is_rejected_alone_and_the_other_files_go_in(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    await _roster(db, tmp_path)
    write_visits = qd130_apply._write_visits

    async def refusing(connection, writes, known, now):  # type: ignore[no-untyped-def]
        if any(w.submission.visit_key == "B-BAD" for w in writes):
            raise OperationalError("INSERT INTO visits", {}, RuntimeError("refused"))
        await write_visits(connection, writes, known, now)

    monkeypatch.setattr(qd130_apply, "_write_visits", refusing)
    files = [_written(tmp_path, "a.xml", [_visit("A-1")]),
             _written(tmp_path, "b.xml", [_visit("B-BAD"), _visit("B-2")]),
             _written(tmp_path, "c.xml", [_visit("C-1", personal_id=STRANGER, card_number=None)])]

    outcomes = [outcome async for _, outcome in import_qd130_each(db, files)]

    assert [(r.read, r.created, r.rejected, r.quarantined) for r in outcomes] == [
        (1, 1, 0, 0), (2, 1, 1, 0), (1, 0, 0, 1)]
    [problem] = outcomes[1].problems
    assert problem.where == "b.xml, HOSO 1, MA_LK B-BAD"
    assert problem.message.msgid.startswith("The database refused this record")
    assert (await _runs(db))[1:] == [("a.xml", 1, 1, 0, True), ("b.xml", 2, 1, 1, True),
                                     ("c.xml", 1, 0, 0, True)]
    async with db.sessions() as session:
        keys = (await session.scalars(select(Visit.visit_key).order_by(Visit.visit_key))).all()
        references = (await session.scalars(select(Provenance.reference))).all()
        kept = await session.scalar(select(QuarantinedSubmission))
        run_of_c = await session.scalar(select(ImportRun.id).where(ImportRun.file_name == "c.xml"))
    assert keys == ["A-1", "B-2"]
    assert "01001/B-BAD" not in references
    assert kept.import_run_id == run_of_c


async def test_files_in_one_transaction_see_each_other_as_if_imported_in_turn(
        db: Database, tmp_path: Path) -> None:
    await _roster(db, tmp_path)
    nobody = _visit("LK-Y", personal_id=None, card_number="DN4019999999999")
    unreadable = _hoso(("XML1", _b64(_tong_hop(SO_CCCD=AN, NGAY_VAO="202503050830"))))
    (tmp_path / "u1.xml").write_bytes(_envelope(unreadable))
    (tmp_path / "u2.xml").write_bytes(_envelope(unreadable))
    files = [_written(tmp_path, "a.xml", [nobody, _visit("LK-Z", personal_id=STRANGER,
                                                           card_number=None)]),
             _written(tmp_path, "b.xml", [_visit("LK-Y")]),  # the same visit, now matched
             _written(tmp_path, "c.xml", [_visit("LK-Z", personal_id=STRANGER, card_number=None)]),
             tmp_path / "u1.xml", tmp_path / "u2.xml"]

    total = await import_qd130_files(db, files)

    assert (total.created, total.quarantined, total.rejected) == (1, 3, 2)
    async with db.sessions() as session:
        kept = (await session.execute(select(
            QuarantinedSubmission.file_name, QuarantinedSubmission.visit_key,
            QuarantinedSubmission.resolved_at.is_not(None)).order_by(QuarantinedSubmission.id)
        )).all()
    # LK-Y waited until b.xml took it in; LK-Z was already waiting when c.xml sent it again;
    # a HOSO without MA_LK is kept once per file, as each file alone would keep it.
    assert kept == [("a.xml", "LK-Y", True), ("a.xml", "LK-Z", False), ("u1.xml", None, False),
                    ("u2.xml", None, False)]


async def test_the_same_files_again_change_nothing(db: Database, tmp_path: Path) -> None:
    await _roster(db, tmp_path)
    unreadable = _hoso(("XML1", _b64(_tong_hop(SO_CCCD=AN, NGAY_VAO="202503050830"))))
    (tmp_path / "u.xml").write_bytes(_envelope(unreadable, _good_hoso("LK-U")))
    files = [_written(tmp_path, "a.xml", [_visit("A-1"), _visit("A-2", personal_id=STRANGER,
                                                                card_number=None)]),
             tmp_path / "u.xml", _written(tmp_path, "b.xml", [_visit("A-1")])]
    await import_qd130_files(db, files)
    tables = (Visit, Prescription, TestResult, Provenance, FieldChange, Condition,
              QuarantinedSubmission)
    before = [await _count(db, table) for table in tables]

    again = await import_qd130_files(db, files)

    assert (again.read, again.created, again.updated, again.unchanged) == (5, 0, 0, 3)
    assert [await _count(db, table) for table in tables] == before


# --- Faster, and the same ----------------------------------------------------------------


def _old_hash(submission: VisitSubmission) -> str:
    """How the hashes stored so far were made."""
    canonical = json.dumps(asdict(submission), default=qd130_apply._json_value, sort_keys=True,
                           ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_submissions())
def test_content_hash_is_the_one_already_stored(submission: VisitSubmission) -> None:
    assert content_hash(submission) == _old_hash(submission)


_DOCUMENTS = [
    b'<?xml version="1.0" encoding="utf-8"?><GIAMDINHHS><A>x &amp; y</A></GIAMDINHHS>',
    b'<?xml version="1.0" encoding="iso-8859-1"?><A>caf\xe9</A>',
    b"<A xmlns='urn:x'><B>1</B><![CDATA[<c>]]></A>",
    b"<A>&undefined;</A>",
    b"<A><B></A>",
    b"",
    b'<!DOCTYPE A><A>fine without entities</A>',
]


@pytest.mark.parametrize("data", _DOCUMENTS)
def test_the_fast_xml_parser_reads_what_defusedxml_reads(data: bytes) -> None:
    def parsed(parse):  # type: ignore[no-untyped-def]
        try:
            return tostring(parse(data))
        except SafeET.ParseError as error:
            return ("error", error.position)

    assert parsed(_parse_xml) == parsed(SafeET.fromstring)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_entity_declarations_are_refused_in_any_encoding(encoding: str) -> None:
    bomb = (f'<?xml version="1.0" encoding="{encoding}"?><!DOCTYPE GIAMDINHHS [<!ENTITY a "aaaa">'
            '<!ENTITY b "&a;&a;&a;">]><GIAMDINHHS>&b;</GIAMDINHHS>')
    data = bomb.encode(encoding)
    if encoding == "utf-16":
        assert data.startswith((b"\xff\xfe", b"\xfe\xff"))
    with pytest.raises(FileUnreadable) as refused:
        decode_qd130(data)
    assert "entities" in refused.value.message.msgid


def test_tag_names_are_matched_without_case_or_namespace_however_they_are_mixed() -> None:
    plain = _good_hoso("LK-1")
    odd = _good_hoso("LK-2").replace("<HOSO>", '<hs:hoso xmlns:hs="urn:x">') \
        .replace("</HOSO>", "</hs:hoso>")

    records = list(decode_qd130(_envelope(plain, odd)).records())

    assert [r.submission.visit_key for r in records if r.submission] == ["LK-1", "LK-2"]
