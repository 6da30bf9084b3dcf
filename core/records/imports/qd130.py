"""`import-xml`: clinics' QĐ 130/QĐ-BYT checkout files into the record.

Each HOSO is one visit. It is matched to a resident by personal ID (SO_CCCD),
else by insurance card (MA_THE_BHYT); a visit nobody matches, and a HOSO that
cannot be read, go to the quarantine whole, so nothing a clinic sent is lost.
A visit is identified by (facility, MA_LK): sending it again with the same
content changes nothing, with new content it replaces the stored visit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import Database
from core.i18n import N_, Message, now_utc
from core.records.citizen import Citizen
from core.records.imports.chunks import chunked
from core.records.imports.qd130_format import HosoRecord, decode_qd130
from core.records.imports.qd130_person import add_conditions, merge_demographics
from core.records.imports.quarantine import QuarantineBatch, settle
from core.records.imports.report import FileUnreadable, ImportReport
from core.records.imports.runs import finish_run, start_run
from core.records.insurance import InsuranceCard
from core.records.operations import ImportKind, QuarantineReason
from core.records.provenance import Provenance, Source
from core.records.submission import VisitSubmission
from core.records.visit import VISIT_KIND_BY_CODE, Prescription, TestResult, Visit, VisitKind

CHUNK = 500

log = logging.getLogger(__name__)

_CITIZENS = Citizen.__table__
_CARDS = InsuranceCard.__table__
_VISITS = Visit.__table__
_PRESCRIPTIONS = Prescription.__table__
_TESTS = TestResult.__table__
_PROVENANCE = Provenance.__table__

_NO_IDENTIFIER = Message(N_(
    "The record has neither a valid personal ID (SO_CCCD) nor a valid insurance card "
    "number (MA_THE_BHYT)."))
_NOT_FOUND = Message(N_("No resident on the record has this personal ID or insurance card."))
_SHARED_CARD = Message(N_("The insurance card number is on the record of more than one resident."))
_CONFLICT = Message(N_(
    "The personal ID is not on the record and the insurance card belongs to a resident "
    "with another personal ID."))
_REFUSED = Message(N_(
    "The database refused this record; nothing of it was saved. Import the file again later."))


# --- Canonical forms ----------------------------------------------------------

def _json_value(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"not serialisable: {type(value).__name__}")


def content_hash(submission: VisitSubmission) -> str:
    """SHA-256 of the submission's canonical JSON: equal content, equal hash."""
    canonical = json.dumps(asdict(submission), default=_json_value, sort_keys=True,
                           ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- Matching -----------------------------------------------------------------

@dataclass(frozen=True)
class _Match:
    citizen_id: int | None
    problem: Message | None = None


async def _match_citizens(connection: AsyncConnection,
                          submissions: list[VisitSubmission]) -> list[_Match]:
    """Each submission's resident: by personal ID, else by a current insurance card."""
    pids = {s.personal_id for s in submissions if s.personal_id}
    cards = {s.card_number for s in submissions if s.card_number}
    by_pid: dict[str, int] = {}
    if pids:
        by_pid = dict((await connection.execute(
            select(_CITIZENS.c.personal_id, _CITIZENS.c.id)
            .where(_CITIZENS.c.personal_id.in_(pids)))).all())
    owners: dict[str, dict[int, str]] = {}
    if cards:
        for number, citizen_id, personal_id in await connection.execute(
            select(_CARDS.c.number, _CARDS.c.citizen_id, _CITIZENS.c.personal_id)
            .join(_CITIZENS, _CITIZENS.c.id == _CARDS.c.citizen_id)
            .where(_CARDS.c.number.in_(cards), _CARDS.c.superseded_at.is_(None))
        ):
            owners.setdefault(number, {})[citizen_id] = personal_id
    return [_match(s, by_pid, owners) for s in submissions]


def _match(s: VisitSubmission, by_pid: dict[str, int], owners: dict[str, dict[int, str]]) -> _Match:
    if s.personal_id and s.personal_id in by_pid:
        return _Match(by_pid[s.personal_id])
    if not s.personal_id and not s.card_number:
        return _Match(None, _NO_IDENTIFIER)
    card_owners = owners.get(s.card_number or "", {})
    if not card_owners:
        return _Match(None, _NOT_FOUND)
    if len(card_owners) > 1:
        return _Match(None, _SHARED_CARD)
    citizen_id, owner_pid = next(iter(card_owners.items()))
    if s.personal_id and owner_pid != s.personal_id:
        # Two official identifiers naming two people: a visit on the wrong record
        # would disclose health data, so it waits for a person to look.
        return _Match(None, _CONFLICT)
    return _Match(citizen_id)


# --- One chunk ----------------------------------------------------------------

@dataclass
class _Write:
    """A visit to write: new, or replacing the stored one."""

    submission: VisitSubmission
    citizen_id: int
    digest: str
    provenance_id: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return self.submission.facility_code, self.submission.visit_key


@dataclass(frozen=True)
class _Known:
    id: int
    digest: str


async def _known_visits(connection: AsyncConnection,
                        submissions: list[VisitSubmission]) -> dict[tuple[str, str], _Known]:
    keys = {s.visit_key for s in submissions}
    if not keys:
        return {}
    rows = await connection.execute(
        select(_VISITS.c.id, _VISITS.c.facility_code, _VISITS.c.visit_key, _VISITS.c.content_hash)
        .where(_VISITS.c.visit_key.in_(keys)))
    return {(r.facility_code, r.visit_key): _Known(r.id, r.content_hash) for r in rows}


async def _apply_chunk(db: Database, records: list[HosoRecord], file_name: str,
                       report: ImportReport, run_id: int | None) -> None:
    """One transaction: every visit of the chunk is written whole or not at all."""
    now = now_utc()
    quarantine = QuarantineBatch(file_name, run_id, now)
    report.read += len(records)
    async with db.connection() as connection:
        readable: list[HosoRecord] = []
        for record in records:
            where = record.place(file_name)
            for warning in record.warnings:
                report.warn(None, warning, where)
            if record.submission is None:
                assert record.problem is not None
                report.reject(None, Message(N_("{reason} The record was kept in quarantine."),
                                            {"reason": record.problem}), where)
                quarantine.add(record.facility_code, record.visit_key, record.payload(),
                               QuarantineReason.UNREADABLE, record.problem)
            else:
                readable.append(record)
        submissions = [r.submission for r in readable if r.submission is not None]
        matches = await _match_citizens(connection, submissions)
        known = await _known_visits(connection, submissions)
        writes = _decide(readable, matches, known, quarantine, report, file_name)
        if writes:
            await _insert_provenance(connection, writes, now)
            await _write_visits(connection, writes, known, now)
            await merge_demographics(connection, writes, now)
            await add_conditions(connection, writes, now)
            await settle(connection, {w.key for w in writes}, now)
        await quarantine.store(connection)


def _decide(records: list[HosoRecord], matches: list[_Match], known: dict[tuple[str, str], _Known],
            quarantine: QuarantineBatch, report: ImportReport, file_name: str) -> list[_Write]:
    """Which visits are new, changed, unchanged or quarantined, in file order."""
    writes: list[_Write] = []
    latest: dict[tuple[str, str], str] = {k: v.digest for k, v in known.items()}
    for record, match in zip(records, matches, strict=True):
        submission = record.submission
        assert submission is not None
        if match.citizen_id is None:
            assert match.problem is not None
            report.quarantined += 1
            report.warn(None, Message(N_("Kept in quarantine: {reason}"), {"reason": match.problem}),
                        record.place(file_name))
            quarantine.add(record.facility_code, record.visit_key, record.payload(),
                           QuarantineReason.NO_MATCHING_CITIZEN, match.problem)
            continue
        write = _Write(submission, match.citizen_id, content_hash(submission))
        previous = latest.get(write.key)
        if previous == write.digest:
            report.unchanged += 1
            continue
        if previous is None:
            report.created += 1
        else:
            report.updated += 1
        latest[write.key] = write.digest
        quarantine.settle(write.key)
        writes.append(write)
    return writes


async def _insert_provenance(connection: AsyncConnection, writes: list[_Write],
                             now: dt.datetime) -> None:
    """One provenance row per submission taken in: the clinic and its visit key."""
    rows = [{"source": Source.CLINIC,
             "reference": f"{w.submission.facility_code}/{w.submission.visit_key}"[:200],
             "received_at": now, "verified": True} for w in writes]
    result = await connection.execute(
        insert(_PROVENANCE).returning(_PROVENANCE.c.id, sort_by_parameter_order=True), rows)
    for write, (provenance_id,) in zip(writes, result.all(), strict=True):
        write.provenance_id = provenance_id


def _visit_row(w: _Write, now: dt.datetime) -> dict[str, Any]:
    s = w.submission
    return {
        "citizen_id": w.citizen_id,
        "facility_code": s.facility_code,
        "visit_key": s.visit_key,
        "kind": VISIT_KIND_BY_CODE.get(s.kind_code or "", VisitKind.OTHER),
        "kind_code": s.kind_code,
        "admitted_at": s.admitted_at,
        "discharged_at": s.discharged_at,
        "reason": s.reason,
        "diagnosis": s.diagnosis,
        "primary_icd10": s.primary_icd10,
        "secondary_icd10": ";".join(s.secondary_icd10) or None,
        "treatment_result": s.treatment_result,
        "follow_up_on": s.follow_up_on,
        "content_hash": w.digest,
        "provenance_id": w.provenance_id,
        "recorded_at": now,
    }


def _child_rows(visit_id: int, s: VisitSubmission) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    drugs = [{"visit_id": visit_id, "drug": p.drug, "strength": p.strength, "route": p.route,
              "dose": p.dose, "instructions": p.instructions, "quantity": p.quantity,
              "unit": p.unit, "ordered_at": p.ordered_at} for p in s.prescriptions]
    tests = [{"visit_id": visit_id, "service_code": t.service_code,
              "indicator_code": t.indicator_code, "name": t.name, "value": t.value, "unit": t.unit,
              "description": t.description, "conclusion": t.conclusion,
              "resulted_at": t.resulted_at} for t in s.tests]
    return drugs, tests


async def _write_visits(connection: AsyncConnection, writes: list[_Write],
                        known: dict[tuple[str, str], _Known], now: dt.datetime) -> None:
    """New visits inserted; changed ones updated in place with their lines replaced."""
    final = {w.key: w for w in writes}  # a visit sent twice in one chunk: the last one stands
    new = [w for key, w in final.items() if key not in known]
    replaced = [w for key, w in final.items() if key in known]
    ids: dict[tuple[str, str], int] = {}
    if new:
        result = await connection.execute(
            insert(_VISITS).returning(_VISITS.c.id, sort_by_parameter_order=True),
            [_visit_row(w, now) for w in new])
        ids.update((w.key, visit_id) for w, (visit_id,) in zip(new, result.all(), strict=True))
    if replaced:
        await connection.execute(
            update(_VISITS).where(_VISITS.c.id == bindparam("_id")),
            [{"_id": known[w.key].id, **_visit_row(w, now)} for w in replaced])
        old_ids = [known[w.key].id for w in replaced]
        await connection.execute(delete(_PRESCRIPTIONS).where(_PRESCRIPTIONS.c.visit_id.in_(old_ids)))
        await connection.execute(delete(_TESTS).where(_TESTS.c.visit_id.in_(old_ids)))
        ids.update((w.key, known[w.key].id) for w in replaced)
    drugs: list[dict[str, Any]] = []
    tests: list[dict[str, Any]] = []
    for key, w in final.items():
        visit_drugs, visit_tests = _child_rows(ids[key], w.submission)
        drugs.extend(visit_drugs)
        tests.extend(visit_tests)
    if drugs:
        await connection.execute(insert(_PRESCRIPTIONS), drugs)
    if tests:
        await connection.execute(insert(_TESTS), tests)


# --- Entry points -------------------------------------------------------------

async def _apply_safely(db: Database, records: list[HosoRecord], file_name: str,
                        report: ImportReport, run_id: int | None) -> None:
    """A chunk in one transaction; if the database refuses it, record by record, so one
    unexpected failure rejects one record and nothing of it is written."""
    attempt = ImportReport(report.file_name)
    try:
        await _apply_chunk(db, records, file_name, attempt, run_id)
    except DBAPIError as error:
        if len(records) == 1:
            record = records[0]
            log.error("QĐ 130 %s HOSO %s not saved: %s", file_name, record.index,
                      type(error.orig).__name__)
            report.read += 1
            report.reject(None, _REFUSED, record.place(file_name))
            return
        for record in records:
            await _apply_safely(db, [record], file_name, report, run_id)
        return
    report.add(attempt)


async def _apply_records(db: Database, records: Iterable[HosoRecord], file_name: str,
                         report: ImportReport, run_id: int | None) -> None:
    for chunk in chunked(records, CHUNK):
        await _apply_safely(db, chunk, file_name, report, run_id)


async def apply_submissions(db: Database, submissions: list[VisitSubmission], file_name: str,
                            report: ImportReport, run_id: int | None) -> None:
    """Takes in visits already parsed (or generated by the seed), as an XML import would."""
    records = [HosoRecord(index, None, s.facility_code, s.visit_key, s)
               for index, s in enumerate(submissions, start=1)]
    await _apply_records(db, records, file_name, report, run_id)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise FileUnreadable(Message(N_("The file cannot be read: {error}"),
                                     {"error": error.strerror or str(error)})) from None


async def import_qd130_file(db: Database, path: Path) -> ImportReport:
    """Imports one checkout file; raises `FileUnreadable` when it is not a QĐ 130 file."""
    data = _read(path)
    envelope = decode_qd130(data)
    report = ImportReport(path.name)
    for warning in envelope.warnings:
        report.warn(None, warning)
    run_id, _ = await start_run(db, ImportKind.QD130_XML, path.name,
                                hashlib.sha256(data).hexdigest())
    await _apply_records(db, envelope.records(), path.name, report, run_id)
    await finish_run(db, run_id, report)
    log.info("QĐ 130 %s: read %d, created %d, updated %d, unchanged %d, rejected %d, "
             "quarantined %d", path.name, report.read, report.created, report.updated,
             report.unchanged, report.rejected, report.quarantined)
    return report


async def import_qd130_files(db: Database, paths: Iterable[Path]) -> ImportReport:
    """Imports several files, one run each; the report adds them up."""
    paths = list(paths)
    total = ImportReport(paths[0].name if len(paths) == 1 else f"{len(paths)} files")
    for path in paths:
        total.add(await import_qd130_file(db, path))
    return total


__all__ = [
    "apply_submissions",
    "content_hash",
    "import_qd130_file",
    "import_qd130_files",
]
