"""A volunteer reports that a resident moved away or died; the ward health station confirms it.

The city plan's phase 3 has ward teams keep the list of residents current. A volunteer's word
waits (`WardChangeReport`) until the station confirms it: then, in one transaction, the record's
status and its date change through the record's own merge with health-station provenance (the old
status stays in the field history), and for a death everything that acted as the person stops
and nothing waits on them (core.volunteering.deaths, as when the register says it). A guardian's right over
a dead or moved-away person ends by the rule itself (core.families.rules). The volunteer is told
the decision in the bot (core.notices), with a rejection's reason.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from core import notices, validation
from core.db import Database
from core.i18n import now_utc
from core.privacy import mask_personal_id
from core.records.citizen import Citizen, FieldChange
from core.records.provenance import Provenance, Source
from core.records.register import merge_fields
from core.staff.model import StaffMember, StaffRole
from core.staff.service import Staff
from core.values import CitizenStatus, PartialDate
from core.volunteering import deaths
from core.volunteering.model import ChangeKind, ReportStatus, WardChangeReport
from core.volunteering.residents import short_name

log = logging.getLogger(__name__)
_REPORTS = WardChangeReport.__table__
_CITIZENS = Citizen.__table__
_MEMBERS = StaffMember.__table__
_PROVENANCE = Provenance.__table__

NOTE_LENGTH = 500
DESTINATION_LENGTH = 200
REASON_LENGTH = 500
# The record's status each kind of report sets (core.values.CitizenStatus).
STATUS = {ChangeKind.MOVED_AWAY: CitizenStatus.MOVED_AWAY, ChangeKind.DECEASED: CitizenStatus.DECEASED}


class Refusal(enum.StrEnum):
    NOT_A_VOLUNTEER = "not_a_volunteer"  # no ward volunteer (any more)
    # Not an active resident of the volunteer's ward: one answer for "no such person", "another
    # ward" and "already moved away or dead", as the lookup gives (core.volunteering.residents).
    NOT_IN_WARD = "not_in_ward"
    ALREADY_WAITING = "already_waiting"  # one open report per resident
    BEFORE_BIRTH = "before_birth"  # the date given is before the resident was born


@dataclass(frozen=True)
class Refused:
    why: Refusal
    since: dt.datetime | None = None  # when the waiting report was filed


class Decided(enum.StrEnum):
    DONE = "done"
    NO_SUCH_REPORT = "no_such_report"  # none by that number (in that ward, when one is named)
    ALREADY_CONFIRMED = "already_confirmed"  # a second confirm, or a reject after a confirm
    ALREADY_REJECTED = "already_rejected"


@dataclass(frozen=True)
class ChangeReport:
    """One open report as the station reads it: whom (short name, masked ID, birth year), what,
    when, from whom. Never the full ID, never health data."""

    id: int
    ward_code: str
    name: str  # shortened (`Nguyễn V. A.`)
    masked_id: str
    birth_year: int
    kind: ChangeKind
    date: PartialDate | None  # as far as known
    destination: str | None
    note: str
    volunteer: str | None  # the volunteer's name as the invite named them
    created_at: dt.datetime
    citizen_id: int | None = None  # for the access log of whoever lists it, never shown


def _last_day(date: PartialDate) -> dt.date:
    """The latest day a partial date allows (`07/1948`: 31/07/1948)."""
    if date.day is not None:
        return date.earliest()
    if date.month is None:
        return dt.date(date.year, 12, 31)
    following = dt.date(date.year + date.month // 12, date.month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def _waiting_since(connection: Connection, citizen_id: int) -> dt.datetime | None:
    return connection.execute(select(_REPORTS.c.created_at).where(
        _REPORTS.c.citizen_id == citizen_id, _REPORTS.c.status == ReportStatus.OPEN)).scalar()


def _refusal(connection: Connection, staff: Staff, citizen_id: int, date: PartialDate | None,
             *, lock: bool = False) -> Refused | None:
    """Why a report by this volunteer about this resident would not be filed (None: it would)."""
    member = connection.execute(select(_MEMBERS.c.revoked_at, _MEMBERS.c.role, _MEMBERS.c.ward_code)
                                .where(_MEMBERS.c.id == staff.id)).one_or_none()
    if (member is None or member.revoked_at is not None or member.role is not StaffRole.VOLUNTEER
            or not member.ward_code):
        return Refused(Refusal.NOT_A_VOLUNTEER)
    query = select(_CITIZENS.c.ward_code, _CITIZENS.c.status, _CITIZENS.c.birth_date).where(
        _CITIZENS.c.id == citizen_id)
    # Filing, the resident's row is locked (PostgreSQL) so two reports at once queue here; SQLite's
    # write transaction holds the file's lock already. The partial unique index is the backstop.
    resident = connection.execute(query.with_for_update() if lock else query).one_or_none()
    if resident is None or resident.ward_code != member.ward_code or resident.status != CitizenStatus.ACTIVE:
        return Refused(Refusal.NOT_IN_WARD)
    since = _waiting_since(connection, citizen_id)
    if since is not None:
        return Refused(Refusal.ALREADY_WAITING, since)
    if date is not None and _last_day(date) < resident.birth_date.earliest():
        return Refused(Refusal.BEFORE_BIRTH)
    return None


async def refusal(db: Database, staff: Staff, citizen_id: int, date: PartialDate | None = None,
                  ) -> Refused | None:
    """Asked as the volunteer goes (once the resident is found, once the date is typed), so nothing
    is typed in vain; `report_change` asks again as it files."""
    return await db.read(_refusal, staff, citizen_id, date)


def _report(connection: Connection, staff: Staff, citizen_id: int, kind: ChangeKind,
            date: PartialDate | None, note: str, destination: str | None) -> int | Refused:
    refused = _refusal(connection, staff, citizen_id, date, lock=True)
    if refused is not None:
        return refused
    # The resident's ward, which the check above found to be the volunteer's.
    ward = connection.execute(select(_CITIZENS.c.ward_code).where(_CITIZENS.c.id == citizen_id)).scalar_one()
    return connection.execute(insert(_REPORTS).values(
        citizen_id=citizen_id, ward_code=ward, kind=kind, happened_on=date,
        destination=destination or None, note=note, staff_id=staff.id, status=ReportStatus.OPEN,
        created_at=now_utc()).returning(_REPORTS.c.id)).scalar_one()


async def report_change(db: Database, staff: Staff, citizen_id: int, kind: ChangeKind,
                        date: PartialDate | None, note: str, *,
                        destination: str | None = None) -> int | Refused:
    """Files a volunteer's report about a resident of their ward (found by `find_resident`); the
    report's number, or why nothing was filed. `destination`: where a resident moved, as heard."""
    note = validation.free_text(note, NOTE_LENGTH)
    destination = validation.free_text(destination, DESTINATION_LENGTH) if destination else None
    if kind is not ChangeKind.MOVED_AWAY:
        destination = None
    filed = await db.write(_report, staff, citizen_id, ChangeKind(kind), date, note, destination)
    if isinstance(filed, Refused):
        log.info("ward change report by staff %s refused: %s", staff.id, filed.why.value)
    else:
        log.info("ward change report %s filed by staff %s (%s)", filed, staff.id, kind.value)
    return filed


def _open(connection: Connection, ward_code: str | None) -> list[ChangeReport]:
    query = (select(_REPORTS, _CITIZENS.c.full_name, _CITIZENS.c.personal_id, _CITIZENS.c.birth_date,
                    _MEMBERS.c.name.label("volunteer"))
             .join(_CITIZENS, _CITIZENS.c.id == _REPORTS.c.citizen_id)
             .join(_MEMBERS, _MEMBERS.c.id == _REPORTS.c.staff_id)
             .where(_REPORTS.c.status == ReportStatus.OPEN).order_by(_REPORTS.c.id))
    if ward_code is not None:
        query = query.where(_REPORTS.c.ward_code == ward_code)
    return [ChangeReport(r.id, r.ward_code, short_name(r.full_name), mask_personal_id(r.personal_id),
                         r.birth_date.year, r.kind, r.happened_on, r.destination, r.note, r.volunteer,
                         r.created_at, r.citizen_id)
            for r in connection.execute(query)]


async def open_reports(db: Database, ward_code: str | None) -> list[ChangeReport]:
    """The reports waiting for the station of this ward (None: every ward), oldest first."""
    return await db.read(_open, ward_code)


def _set_status(connection: Connection, report: Any, by: str, now: dt.datetime) -> None:
    """The record's status and its date, through the record's own merge: health-station provenance,
    the old status in the field history."""
    provenance_id = connection.execute(insert(_PROVENANCE).values(
        source=Source.HEALTH_STATION, reference=f"ward change report {report.id}, {by}"[:200],
        received_at=now, verified=True).returning(_PROVENANCE.c.id)).scalar_one()
    row = connection.execute(select(_CITIZENS).where(_CITIZENS.c.id == report.citizen_id)
                             .with_for_update()).one()
    sources = {}
    if row.status_prov is not None:
        sources[row.status_prov] = connection.execute(
            select(_PROVENANCE.c.source).where(_PROVENANCE.c.id == row.status_prov)).scalar_one()
    # The record keeps a status date as a day: a month or a year known is kept as its first day
    # (the report keeps what was known); not known, the merge dates it today.
    incoming: dict[str, Any] = {"status": STATUS[report.kind]}
    if report.happened_on is not None:
        incoming["status_date"] = report.happened_on.earliest()
    merge = merge_fields(row, incoming, Source.HEALTH_STATION, provenance_id, sources, now,
                         citizen_id=report.citizen_id)
    if merge.changed:
        connection.execute(update(_CITIZENS).where(_CITIZENS.c.id == report.citizen_id)
                           .values(**merge.updates, updated_at=now))
        if merge.history:
            connection.execute(insert(FieldChange.__table__), merge.history)


def _already(connection: Connection, report_id: int, ward: str | None) -> Decided:
    row = connection.execute(select(_REPORTS.c.status, _REPORTS.c.ward_code)
                             .where(_REPORTS.c.id == report_id)).one_or_none()
    if row is None or (ward is not None and row.ward_code != ward):
        return Decided.NO_SUCH_REPORT
    return Decided.ALREADY_CONFIRMED if row.status is ReportStatus.CONFIRMED else Decided.ALREADY_REJECTED


def _decide(connection: Connection, report_id: int, confirm: bool, reason: str | None, by: str,
            ward: str | None) -> Decided:
    now = now_utc()
    claim = update(_REPORTS).where(_REPORTS.c.id == report_id, _REPORTS.c.status == ReportStatus.OPEN)
    if ward is not None:
        claim = claim.where(_REPORTS.c.ward_code == ward)
    # Claimed by the update itself: of two decisions at once, only one finds the report open.
    report = connection.execute(claim.values(
        status=ReportStatus.CONFIRMED if confirm else ReportStatus.REJECTED, decided_at=now,
        decided_by=by, decision_reason=reason)
        .returning(_REPORTS.c.id, _REPORTS.c.citizen_id, _REPORTS.c.kind, _REPORTS.c.happened_on,
                   _REPORTS.c.staff_id)).one_or_none()
    if report is None:
        return _already(connection, report_id, ward)
    if confirm:
        _set_status(connection, report, by, now)
        if report.kind is ChangeKind.DECEASED:
            deaths.end_for(connection, report.citizen_id, now)
    # The volunteer's account hears the outcome (never the resident's: for a death nobody reads it).
    volunteer = connection.execute(select(_MEMBERS.c.account_id)
                                   .where(_MEMBERS.c.id == report.staff_id)).scalar()
    name = connection.execute(select(_CITIZENS.c.full_name)
                              .where(_CITIZENS.c.id == report.citizen_id)).scalar_one()
    if volunteer is not None:
        kind = f"change_{report.kind.value}_{'confirmed' if confirm else 'rejected'}"
        notices.enqueue(connection, report.citizen_id, kind, account_id=volunteer, name=short_name(name),
                        reason=reason or "")
    return Decided.DONE


async def confirm_change(db: Database, report_id: int, *, by: str, ward: str | None = None) -> Decided:
    """The station confirms the report: the record's status changes, and for a death the person's
    accounts, codes and grants end, in one transaction. `by`: the staff member's name; `ward`: the
    station's own ward, when a report of another ward must not be touched."""
    by = validation.free_text(by, 100)
    done = await db.write(_decide, report_id, True, None, by, ward)
    log.info("ward change report %s confirm: %s", report_id, done.value)
    return done


async def reject_change(db: Database, report_id: int, reason: str, *, by: str,
                        ward: str | None = None) -> Decided:
    """The station does not confirm it; the record stays as it is and the volunteer reads `reason`."""
    reason = validation.free_text(reason, REASON_LENGTH)
    if not reason:
        raise ValueError("a rejection needs a reason the volunteer reads")
    done = await db.write(_decide, report_id, False, reason, validation.free_text(by, 100), ward)
    log.info("ward change report %s reject: %s", report_id, done.value)
    return done


__all__ = ["ChangeKind", "ChangeReport", "Decided", "Refusal", "Refused", "confirm_change", "open_reports",
           "refusal", "reject_change", "report_change"]
