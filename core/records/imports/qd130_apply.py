"""One transaction of the QĐ 130 import: the visits of one or more files taken in.

Each HOSO is one visit. It is matched to a resident by personal ID (SO_CCCD),
else by insurance card (MA_THE_BHYT), and confirmed by name and birth date
(HO_TEN, NGAY_SINH); a visit nobody matches, one whose person disagrees with the
matched record, and a HOSO that cannot be read, go to the quarantine whole, so
nothing a clinic sent is lost and nothing lands in a stranger's book.
A visit is identified by (facility, MA_LK): sending it again with the same
content changes nothing, with new content it replaces the stored visit.

A transaction holds pieces of files (`qd130_runs`) in file order; each piece is
decided as if its file were imported alone after the pieces before it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, fields, is_dataclass
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, delete, insert, null, or_, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import Bulk, BulkReturningIds, Database
from core.i18n import N_, Message, now_utc
from core.records.citizen import Citizen
from core.records.imports.qd130_format import HosoRecord
from core.records.imports.qd130_person import add_conditions, merge_demographics
from core.records.imports.qd130_runs import Piece, beat_runs, finish_runs, open_runs
from core.records.imports.quarantine import QuarantineBatch, settle, store_quarantine
from core.records.imports.report import ImportReport
from core.records.insurance import InsuranceCard
from core.records.operations import QuarantineReason
from core.records.provenance import Provenance, Source
from core.records.submission import VisitSubmission
from core.records.visit import (
    VISIT_KIND_BY_CODE,
    Prescription,
    Service,
    TestResult,
    Visit,
    VisitKind,
    stored_follow_ups,
)
from core.text import fold
from core.values import PartialDate

_CITIZENS = Citizen.__table__
_CARDS = InsuranceCard.__table__
_VISITS = Visit.__table__
_PRESCRIPTIONS = Prescription.__table__
_TESTS = TestResult.__table__
_SERVICES = Service.__table__
_PROVENANCE = Provenance.__table__

_NO_IDENTIFIER = Message(N_(
    "The record has neither a valid personal ID (SO_CCCD) nor a valid insurance card "
    "number (MA_THE_BHYT)."))
_NOT_FOUND = Message(N_("No resident on the record has this personal ID or insurance card."))
_SHARED_CARD = Message(N_("The insurance card number is on the record of more than one resident."))
_CONFLICT = Message(N_(
    "The personal ID is not on the record and the insurance card belongs to a resident "
    "with another personal ID."))
_UNCONFIRMED = Message(N_(
    "The record lacks HO_TEN or NGAY_SINH, so the person cannot be confirmed."))
_OTHER_NAME = Message(N_(
    "HO_TEN differs from the name of the resident with this personal ID or card; someone must "
    "check which person the visit belongs to."))
_OTHER_BIRTH = Message(N_(
    "NGAY_SINH differs from the date of birth of the resident with this personal ID or card; "
    "someone must check which person the visit belongs to."))
_OTHER_PERSON = Message(N_(
    "HO_TEN and NGAY_SINH both differ from the resident with this personal ID or card; someone "
    "must check which person the visit belongs to."))


# --- Canonical forms ----------------------------------------------------------

def _json_value(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"not serialisable: {type(value).__name__}")


@cache
def _field_names(cls: type) -> tuple[str, ...] | None:
    return tuple(f.name for f in fields(cls)) if is_dataclass(cls) else None


_ATOMS = frozenset({str, int, float, bool, type(None)})
_TIMES = frozenset({dt.datetime, dt.date})


def _plain(value: Any) -> Any:
    """What `dataclasses.asdict` makes of a submission, times already in the JSON text
    `_json_value` gives them, without deep copies (the values are immutable)."""
    kind = type(value)
    if kind in _TIMES:
        return _json_value(value)
    names = _field_names(kind)
    if names is not None:
        plain = {}
        for name in names:
            item = getattr(value, name)
            plain[name] = item if type(item) in _ATOMS else _plain(item)
        return plain
    if kind is list:
        return [item if type(item) in _ATOMS else _plain(item) for item in value]
    return value


_CANONICAL = json.JSONEncoder(default=_json_value, sort_keys=True, ensure_ascii=False,
                              separators=(",", ":"))


def content_hash(submission: VisitSubmission) -> str:
    """SHA-256 of the submission's canonical JSON: equal content, equal hash. (The stored
    hashes were made from `dataclasses.asdict`; `_plain` gives the same JSON, faster.)"""
    return hashlib.sha256(_CANONICAL.encode(_plain(submission)).encode("utf-8")).hexdigest()


# --- Matching -----------------------------------------------------------------

@dataclass(frozen=True)
class _Match:
    citizen_id: int | None
    problem: Message | None = None
    reason: QuarantineReason = QuarantineReason.NO_MATCHING_CITIZEN


@dataclass(frozen=True)
class _Person:
    """What the record says of a matched resident, to confirm a visit is theirs."""

    name_key: str  # text.fold of the full name: no case, no diacritics, letters and digits only
    birth_date: PartialDate


# Residents by personal ID (no card number) and current card holders, in one query.
_MATCH = union_all(
    select(null().label("number"), _CITIZENS.c.id.label("citizen_id"), _CITIZENS.c.personal_id,
           _CITIZENS.c.full_name, _CITIZENS.c.birth_date)
    .where(_CITIZENS.c.personal_id.in_(bindparam("personal_ids", expanding=True))),
    select(_CARDS.c.number, _CARDS.c.citizen_id, _CITIZENS.c.personal_id, _CITIZENS.c.full_name,
           _CITIZENS.c.birth_date)
    .join(_CITIZENS, _CITIZENS.c.id == _CARDS.c.citizen_id)
    .where(_CARDS.c.number.in_(bindparam("card_numbers", expanding=True)),
           _CARDS.c.superseded_at.is_(None)),
)


async def _match_citizens(connection: AsyncConnection,
                          submissions: list[VisitSubmission]) -> list[_Match]:
    """Each submission's resident: by personal ID, else by a current insurance card; then
    confirmed by name and birth date."""
    if not submissions:
        return []
    by_pid: dict[str, int] = {}
    owners: dict[str, dict[int, str]] = {}
    people: dict[int, _Person] = {}
    for number, citizen_id, personal_id, full_name, born in await connection.execute(_MATCH, {
            "personal_ids": sorted({s.personal_id for s in submissions if s.personal_id}),
            "card_numbers": sorted({s.card_number for s in submissions if s.card_number})}):
        people[citizen_id] = _Person(fold(full_name), born)
        if number is None:
            by_pid[personal_id] = citizen_id
        else:
            owners.setdefault(number, {})[citizen_id] = personal_id
    return [_confirmed(s, _match(s, by_pid, owners), people) for s in submissions]


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


def _agree(sent: PartialDate, recorded: PartialDate) -> bool:
    """Two birth dates that may each know only the year or month agree on all both know."""
    return (sent.year == recorded.year
            and (sent.month is None or recorded.month is None or sent.month == recorded.month)
            and (sent.day is None or recorded.day is None or sent.day == recorded.day))


def _confirmed(s: VisitSubmission, match: _Match, people: dict[int, _Person]) -> _Match:
    """A mistyped SO_CCCD names a real stranger: the visit would disclose one person's health
    to another. XML1 HO_TEN and NGAY_SINH (required by QĐ 130) must agree with the matched
    record, names compared without case, diacritics, spaces or punctuation (NFD-safe)."""
    if match.citizen_id is None:
        return match
    person = people[match.citizen_id]
    if not s.full_name or s.birth_date is None:
        return _Match(None, _UNCONFIRMED, QuarantineReason.PERSON_MISMATCH)
    same_name = fold(s.full_name) == person.name_key
    same_birth = _agree(s.birth_date, person.birth_date)
    if same_name and same_birth:
        return match
    problem = _OTHER_BIRTH if same_name else _OTHER_NAME if same_birth else _OTHER_PERSON
    return _Match(None, problem, QuarantineReason.PERSON_MISMATCH)


# --- Deciding -----------------------------------------------------------------

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


@cache  # for 1, 2, 4, ... facilities: a handful of statements
def _known_at(facilities: int) -> Select[Any]:
    """Visits by (facility, MA_LK): one `facility = ? AND MA_LK IN (...)` term per facility,
    each a search of the (facility_code, visit_key) index. (Two IN lists would probe every
    facility with every key; MA_LK alone cannot use the index.)"""
    v = _VISITS.c
    return select(v.id, v.facility_code, v.visit_key, v.content_hash).where(or_(*(
        and_(v.facility_code == bindparam(f"facility_{i}"),
             v.visit_key.in_(bindparam(f"visit_keys_{i}", expanding=True)))
        for i in range(facilities))))


async def _known_visits(connection: AsyncConnection,
                        submissions: list[VisitSubmission]) -> dict[tuple[str, str], _Known]:
    if not submissions:
        return {}
    keys: dict[str, set[str]] = {}
    for s in submissions:
        keys.setdefault(s.facility_code, set()).add(s.visit_key)
    terms = 1 << (len(keys) - 1).bit_length()
    groups = list(keys.items())
    groups += groups[-1:] * (terms - len(groups))  # a term repeated finds nothing more
    parameters: dict[str, Any] = {}
    for i, (facility, visit_keys) in enumerate(groups):
        parameters[f"facility_{i}"] = facility
        parameters[f"visit_keys_{i}"] = sorted(visit_keys)
    rows = await connection.execute(_known_at(terms), parameters)
    return {(r.facility_code, r.visit_key): _Known(r.id, r.content_hash) for r in rows}


def _decide(pieces: list[Piece], reports: list[ImportReport], batches: list[QuarantineBatch],
            matches: list[_Match], known: dict[tuple[str, str], _Known]) -> list[_Write]:
    """Which visits are new, changed, unchanged, quarantined or unreadable, in file order."""
    writes: list[_Write] = []
    latest: dict[tuple[str, str], str] = {k: v.digest for k, v in known.items()}
    found = iter(matches)
    for index, (piece, report, quarantine) in enumerate(zip(pieces, reports, batches, strict=True)):
        file_name = piece.intake.file_name
        report.read += len(piece.records)
        readable: list[HosoRecord] = []
        for record in piece.records:
            for warning in record.warnings:
                report.warn(None, warning, record.place(file_name))
            if record.submission is None:
                assert record.problem is not None
                report.reject(None, Message(N_("{reason} The record was kept in quarantine."),
                                            {"reason": record.problem}), record.place(file_name))
                quarantine.add(record.facility_code, record.visit_key, record.payload(),
                               QuarantineReason.UNREADABLE, record.problem)
            else:
                readable.append(record)
        # The quarantine rows a visit taken in here settles: this file's and those before it.
        holding = [batch for batch in batches[:index] if batch.rows] + [quarantine]
        for record in readable:
            submission = record.submission
            assert submission is not None
            match = next(found)
            if match.citizen_id is None:
                assert match.problem is not None
                report.quarantined += 1
                report.warn(None, Message(N_("Kept in quarantine: {reason}"),
                                          {"reason": match.problem}), record.place(file_name))
                quarantine.add(record.facility_code, record.visit_key, record.payload(),
                               match.reason, match.problem)
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
            for batch in holding:
                batch.settle(write.key)
            writes.append(write)
    return writes


# --- Writing ------------------------------------------------------------------

_INSERT_PROVENANCE = BulkReturningIds(_PROVENANCE, ("source", "reference", "received_at", "verified"))


async def _insert_provenance(connection: AsyncConnection, writes: list[_Write],
                             now: dt.datetime) -> None:
    """One provenance row per submission taken in: the clinic and its visit key."""
    rows = [{"source": Source.CLINIC,
             "reference": f"{w.submission.facility_code}/{w.submission.visit_key}"[:200],
             "received_at": now, "verified": True} for w in writes]
    for write, provenance_id in zip(writes, await _INSERT_PROVENANCE.ids(connection, rows),
                                    strict=True):
        write.provenance_id = provenance_id


_VISIT_COLUMNS = ("citizen_id", "facility_code", "visit_key", "kind", "kind_code", "admitted_at",
                  "discharged_at", "reason", "admission_diagnosis", "diagnosis", "primary_icd10",
                  "secondary_icd10", "treatment_method", "treatment_result", "follow_up_dates",
                  "note", "weight_kg", "accident_code", "referred_from", "referred_to",
                  "card_number", "card_five_years_from", "card_copay_exempt_from",
                  "card_area_code", "content_hash", "provenance_id", "recorded_at")
# Copied as they are from the submission to the visit's row.
_AS_SENT = ("reason", "admission_diagnosis", "diagnosis", "primary_icd10", "treatment_method",
            "treatment_result", "note", "weight_kg", "accident_code", "referred_from",
            "referred_to", "card_number", "card_five_years_from", "card_copay_exempt_from",
            "card_area_code")
_INSERT_VISITS = Bulk.insert(_VISITS, _VISIT_COLUMNS)
_REPLACE_VISITS = Bulk(
    update(_VISITS).where(_VISITS.c.id == bindparam("visit_id"))
    .values({name: bindparam(name) for name in _VISIT_COLUMNS}),
    {"visit_id": _VISITS.c.id.type, **{name: _VISITS.c[name].type for name in _VISIT_COLUMNS}},
)
_DELETE_PRESCRIPTIONS = delete(_PRESCRIPTIONS).where(
    _PRESCRIPTIONS.c.visit_id.in_(bindparam("visit_ids", expanding=True)))
_DELETE_TESTS = delete(_TESTS).where(_TESTS.c.visit_id.in_(bindparam("visit_ids", expanding=True)))
_DELETE_SERVICES = delete(_SERVICES).where(
    _SERVICES.c.visit_id.in_(bindparam("visit_ids", expanding=True)))


def _lines_of_visit(table: Any, columns: tuple[str, ...]) -> Bulk:
    """An insert of a visit's lines that names the visit by (facility, MA_LK), the unique key:
    a new visit's id need not come back to Python first."""
    visit_id = select(_VISITS.c.id).where(
        _VISITS.c.facility_code == bindparam("facility_code"),
        _VISITS.c.visit_key == bindparam("visit_key")).scalar_subquery()
    return Bulk(
        insert(table).values(visit_id=visit_id, **{name: bindparam(name) for name in columns}),
        {"facility_code": _VISITS.c.facility_code.type, "visit_key": _VISITS.c.visit_key.type,
         **{name: table.c[name].type for name in columns}},
    )


_DRUG_COLUMNS = ("drug", "strength", "route", "dose", "instructions", "quantity", "unit",
                 "ordered_at")
_TEST_COLUMNS = ("service_code", "indicator_code", "name", "value", "unit", "description",
                 "conclusion", "resulted_at")
_INSERT_PRESCRIPTIONS = _lines_of_visit(_PRESCRIPTIONS, _DRUG_COLUMNS)
_INSERT_TESTS = _lines_of_visit(_TESTS, _TEST_COLUMNS)
_SERVICE_COLUMNS = ("service_code", "group_code", "name", "quantity", "unit", "performed_at")
_INSERT_SERVICES = _lines_of_visit(_SERVICES, _SERVICE_COLUMNS)


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
        **{name: getattr(s, name) for name in _AS_SENT},
        "secondary_icd10": ";".join(s.secondary_icd10) or None,
        "follow_up_dates": stored_follow_ups(s.follow_ups),
        "content_hash": w.digest,
        "provenance_id": w.provenance_id,
        "recorded_at": now,
    }


async def _write_visits(connection: AsyncConnection, writes: list[_Write],
                        known: dict[tuple[str, str], _Known], now: dt.datetime) -> None:
    """New visits inserted; changed ones updated in place with their lines replaced."""
    final = {w.key: w for w in writes}  # a visit sent twice in one chunk: the last one stands
    await _INSERT_VISITS.run(connection, [
        _visit_row(w, now) for key, w in final.items() if key not in known])
    replaced = [w for key, w in final.items() if key in known]
    if replaced:
        await _REPLACE_VISITS.run(connection, [
            {"visit_id": known[w.key].id, **_visit_row(w, now)} for w in replaced])
        old_ids = {"visit_ids": [known[w.key].id for w in replaced]}
        await connection.execute(_DELETE_PRESCRIPTIONS, old_ids)
        await connection.execute(_DELETE_TESTS, old_ids)
        await connection.execute(_DELETE_SERVICES, old_ids)
    drugs: list[dict[str, Any]] = []
    tests: list[dict[str, Any]] = []
    services: list[dict[str, Any]] = []
    for (facility, visit_key), w in final.items():
        drugs.extend({"facility_code": facility, "visit_key": visit_key, "drug": p.drug,
                      "strength": p.strength, "route": p.route, "dose": p.dose,
                      "instructions": p.instructions, "quantity": p.quantity, "unit": p.unit,
                      "ordered_at": p.ordered_at} for p in w.submission.prescriptions)
        tests.extend({"facility_code": facility, "visit_key": visit_key,
                      "service_code": t.service_code, "indicator_code": t.indicator_code,
                      "name": t.name, "value": t.value, "unit": t.unit,
                      "description": t.description, "conclusion": t.conclusion,
                      "resulted_at": t.resulted_at} for t in w.submission.tests)
        services.extend({"facility_code": facility, "visit_key": visit_key,
                         **{name: getattr(line, name) for name in _SERVICE_COLUMNS}}
                        for line in w.submission.services)
    await _INSERT_PRESCRIPTIONS.run(connection, drugs)
    await _INSERT_SERVICES.run(connection, services)
    await _INSERT_TESTS.run(connection, tests)


# --- One transaction ------------------------------------------------------------

async def apply_pieces(db: Database, pieces: list[Piece]) -> list[ImportReport]:
    """One transaction: every visit of the pieces is written whole or not at all, and the
    runs they open or finish with them. Returns what each piece did; the caller adds it to
    its file's report once the transaction is committed."""
    now = now_utc()
    reports = [ImportReport(p.intake.file_name) for p in pieces]
    batches = [QuarantineBatch(p.intake.file_name, p.intake.run_id, now) for p in pieces]
    submissions = [r.submission for p in pieces for r in p.records if r.submission is not None]
    opening = [i for i, p in enumerate(pieces) if p.opens_run]
    async with db.connection() as connection:
        matches = await _match_citizens(connection, submissions)
        known = await _known_visits(connection, submissions)
        writes = _decide(pieces, reports, batches, matches, known)
        run_ids = await open_runs(connection, [pieces[i] for i in opening],
                                  [reports[i] for i in opening], now)
        for i, run_id in zip(opening, run_ids, strict=True):
            batches[i].run_id = run_id
        if writes:
            await _insert_provenance(connection, writes, now)
            await _write_visits(connection, writes, known, now)
            await merge_demographics(connection, writes, now)
            await add_conditions(connection, writes, now)
            await settle(connection, {w.key for w in writes}, now)
        await store_quarantine(connection, batches)
        closing = [i for i, p in enumerate(pieces)
                   if p.last and p.intake.owns_run and i not in opening]
        await finish_runs(connection, [pieces[i] for i in closing], [reports[i] for i in closing],
                          now)
        beating = [i for i, p in enumerate(pieces)
                   if not p.last and p.intake.owns_run and i not in opening]
        await beat_runs(connection, [pieces[i] for i in beating], [reports[i] for i in beating],
                        now)
    for i, run_id in zip(opening, run_ids, strict=True):
        pieces[i].intake.run_id = run_id
    for piece in pieces:
        if piece.last:
            piece.intake.finished_at = now
    return reports


__all__ = ["apply_pieces", "content_hash"]
