"""Reading a book: the policy decides what it shows, and others' reads are logged for the citizen.

Every channel that shows a book calls one of two doors: `read_own_book` for the
citizen themself (everything, no access event: nobody else read it), and
`read_book_as` for anyone else, which writes an access event to the hash-chained
log the citizen can read (`latest_access`). Nothing else builds a book.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select

from core import tallies
from core.consent.chain import Break, append, verify
from core.consent.grants import current_consent, groups_of, groups_text
from core.consent.policy import Reader, decide, view_for
from core.consent.records import ACCESS_CONTENT, CONSENT_CONTENT, AccessEvent, ConsentChange
from core.db import Database
from core.i18n import now_utc, today_hanoi
from core.records.display_rules import Audience, BookGroup
from core.records.facility import Facility
from core.records.healthbook import HealthBook, build_health_book

log = logging.getLogger(__name__)
_EVENTS = AccessEvent.__table__
_FACILITIES = Facility.__table__


@dataclass(frozen=True)
class AccessRecord:
    at: dt.datetime
    reader_role: str
    reader_name: str | None
    facility_code: str | None
    facility_name: str | None
    ward_code: str | None
    groups: frozenset[BookGroup]
    via: str


@dataclass(frozen=True)
class ReadResult:
    book: HealthBook | None
    access: AccessRecord | None


async def read_own_book(db: Database, citizen_id: int, *, locale: str | None = None,
                        only: Iterable[BookGroup] | None = None) -> HealthBook | None:
    """The citizen's own book, whole (or the groups `only`); None when there is no such citizen.

    Callers are the citizen's own journeys (their account is linked to `citizen_id`) and operators'
    commands; a read for anyone else goes through `read_book_as`.
    """
    return await build_health_book(db, citizen_id, view_for(Audience.CITIZEN), locale=locale, only=only)


async def read_book_as(db: Database, reader: Reader, citizen_id: int, *, via: str,
                       token_id: int | None = None, locale: str | None = None,
                       only: frozenset[BookGroup] | None = None) -> ReadResult:
    consent = await db.read(current_consent, citizen_id)
    view = view_for(*decide(reader, consent, today_hanoi()))
    book = await build_health_book(db, citizen_id, view, locale=locale, only=only)
    if book is None:
        return ReadResult(None, None)
    shown = frozenset(section.group for section in book.sections)
    content = await _log_access(db, reader, citizen_id, shown, via, token_id)
    facility_name = reader.facility_name
    if reader.facility_code and facility_name is None:
        facility_name = await db.read(_facility_name, reader.facility_code)
    return ReadResult(book, AccessRecord(content["at"], reader.role, reader.name, reader.facility_code,
                                         facility_name, reader.ward_code, shown, via))


async def _log_access(db: Database, reader: Reader, citizen_id: int, groups: frozenset[BookGroup],
                      via: str, token_id: int | None = None) -> dict:
    content = {"citizen_id": citizen_id, "at": now_utc(), "reader_account_id": reader.account_id,
               "reader_role": reader.role, "reader_name": reader.name,
               "facility_code": reader.facility_code, "ward_code": reader.ward_code,
               "groups": groups_text(groups), "via": via, "token_id": token_id}
    await db.write(_append_access, content)
    log.info("book %s by a %s (citizen %s, groups %s)", via, reader.role, citizen_id, content["groups"])
    return content


# A check-in is a code opened at a clinic's desk: by its QR link or its spoken code.
CHECKIN_VIA = frozenset({"qr", "code"})


def _append_access(connection: Connection, content: dict) -> None:
    new_id = append(connection, _EVENTS, content)
    if content["via"] in CHECKIN_VIA and not _opened_before(connection, content, new_id):
        tallies.count_event(connection, tallies.CHECKIN, content["citizen_id"], content["at"])


def _opened_before(connection: Connection, content: dict, new_id: int) -> bool:
    """The same code was opened at a desk before: scanned twice, or typed after a scan, it is one
    arrival and counts once in the ward's check-ins. `append` holds the citizen's chain until
    commit, so of two desks opening one code at once the second sees the first here."""
    if content["token_id"] is None:
        return False
    return connection.execute(select(_EVENTS.c.id).where(
        _EVENTS.c.citizen_id == content["citizen_id"], _EVENTS.c.token_id == content["token_id"],
        _EVENTS.c.via.in_(CHECKIN_VIA), _EVENTS.c.id < new_id).limit(1)).first() is not None


async def note_action(db: Database, reader: Reader, citizen_id: int, groups: frozenset[BookGroup],
                      via: str) -> None:
    """Something done to the book by someone who is not the citizen that is not a read (a guardian
    or proxy filling in details): in the citizen's access history all the same."""
    await _log_access(db, reader, citizen_id, groups, via)


async def note_reads(db: Database, reader: Reader, citizen_ids: Iterable[int], groups: frozenset[BookGroup],
                     via: str) -> None:
    """A list that shows several people's details (a station's inbox): each person's access
    history says who read which groups, as for a book."""
    for citizen_id in sorted(citizen_ids):
        await _log_access(db, reader, citizen_id, groups, via)


def read_with_token(connection: Connection, citizen_id: int, reader_account_id: int,
                    token_id: int) -> bool:
    """This account read the citizen's book with this check-in token: what a card's later reads
    (a visit opened on request) rest on."""
    return connection.execute(
        select(_EVENTS.c.id).where(_EVENTS.c.citizen_id == citizen_id,
                                   _EVENTS.c.reader_account_id == reader_account_id,
                                   _EVENTS.c.token_id == token_id).limit(1)).first() is not None


def _facility_name(connection: Connection, code: str) -> str | None:
    return connection.execute(select(_FACILITIES.c.name).where(_FACILITIES.c.code == code)).scalar()


def _latest(connection: Connection, citizen_id: int, limit: int) -> list[AccessRecord]:
    rows = connection.execute(
        select(_EVENTS.c.at, _EVENTS.c.reader_role, _EVENTS.c.reader_name, _EVENTS.c.facility_code,
               _FACILITIES.c.name.label("facility_name"), _EVENTS.c.ward_code, _EVENTS.c.groups,
               _EVENTS.c.via)
        .outerjoin(_FACILITIES, _FACILITIES.c.code == _EVENTS.c.facility_code)
        .where(_EVENTS.c.citizen_id == citizen_id).order_by(_EVENTS.c.id.desc()).limit(limit)).all()
    return [AccessRecord(r.at, r.reader_role, r.reader_name, r.facility_code, r.facility_name, r.ward_code,
                         groups_of(r.groups), r.via) for r in rows]


async def latest_access(db: Database, citizen_id: int, limit: int = 20) -> list[AccessRecord]:
    """Who read the citizen's book, newest first."""
    return await db.read(_latest, citizen_id, limit)


def _verify_all(connection: Connection, citizen_id: int | None) -> list[Break]:
    found = []
    for table, columns in ((_EVENTS, ACCESS_CONTENT), (ConsentChange.__table__, CONSENT_CONTENT)):
        problem = verify(connection, table, columns, citizen_id)
        if problem is not None:
            found.append(problem)
    return found


async def verify_audit_chains(db: Database, citizen_id: int | None = None) -> list[Break]:
    """The first break of the access log and of the consent history, if any: every citizen's
    chains, or only `citizen_id`'s (each citizen's history holds on its own)."""
    return await db.read(_verify_all, citizen_id)
