"""What a death ends: once the record says a person has died, nothing acts as them on any
channel, nothing more is said to them, and nothing waits for their decision or about them.

A death reaches the record two ways: a volunteer's report the ward health station confirms
(`core.volunteering.changes`, in the confirming transaction) and the population register's
roster, whose status `tu_vong` an import writes (`end_after_register`, which `core.after_import`
runs whoever imported the file: the command line, the console). Both end the same things, here.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, select, union, update

from core import families, notices
from core.checkin import tokens
from core.checkin.tokens import CheckinToken
from core.corrections.model import CorrectionRequest, RequestStatus
from core.db import Database
from core.families.model import ProxyGrantRow
from core.i18n import now_utc
from core.identity import accounts, sessions
from core.identity.accounts import ChannelAccount
from core.records.citizen import Citizen
from core.values import CitizenStatus
from core.volunteering.model import PendingStatus, PendingValue, ReportStatus, WardChangeReport

log = logging.getLogger(__name__)

_CITIZENS = Citizen.__table__
_ACCOUNTS = ChannelAccount.__table__
_TOKENS = CheckinToken.__table__
_GRANTS = ProxyGrantRow.__table__
_PENDING = PendingValue.__table__
_REQUESTS = CorrectionRequest.__table__
_REPORTS = WardChangeReport.__table__
BATCH = 500  # people ended in one transaction, after an import


@dataclass(frozen=True)
class Ended:
    accounts: int
    codes: int
    grants: int
    waiting: int  # volunteers' entries, correction requests and ward change reports closed


def end_for(connection: Connection, citizen_id: int, now: dt.datetime) -> Ended:
    """Ends, in the caller's transaction, what still acts as the dead person or waits on them:
    linked accounts and their USSD sessions, check-in codes (theirs and those they were to show
    for someone), proxy grants either way, unsent notices to them, and entries, requests and
    reports nobody will decide now. Nobody is told: the family learns of a death from the family."""
    return end_for_all(connection, [citizen_id], now)


def end_for_all(connection: Connection, citizen_ids: Sequence[int], now: dt.datetime) -> Ended:
    """`end_for` for many people at once: each statement covers them all (after an import a
    roster's deaths are ended a batch at a time, not a person at a time)."""
    unlinked = accounts.unlink_everywhere(connection, citizen_ids)
    sessions.end_sessions_of(connection, unlinked)
    codes = tokens.revoke_all(connection, citizen_ids, now)
    grants = families.end_grants_of(connection, citizen_ids)
    notices.drop_for(connection, citizen_ids, unlinked)
    # pending_values.decided_by "deceased", as "replaced" says a newer entry took its place.
    waiting = connection.execute(update(_PENDING).where(
        _PENDING.c.citizen_id.in_(citizen_ids), _PENDING.c.status == PendingStatus.PENDING)
        .values(status=PendingStatus.REJECTED, decided_at=now, decided_by="deceased")).rowcount
    waiting += connection.execute(update(_REQUESTS).where(
        _REQUESTS.c.citizen_id.in_(citizen_ids), _REQUESTS.c.status == RequestStatus.PENDING)
        .values(status=RequestStatus.CLOSED, decided_at=now)).rowcount
    # A volunteer's report still open (the register said it first): nothing for the station now.
    waiting += connection.execute(update(_REPORTS).where(
        _REPORTS.c.citizen_id.in_(citizen_ids), _REPORTS.c.status == ReportStatus.OPEN)
        .values(status=ReportStatus.CLOSED, decided_at=now)).rowcount
    ended = Ended(len(unlinked), codes, grants, waiting)
    log.info("deceased: %s people, %s accounts unlinked, %s codes revoked, %s grants ended, "
             "%s waiting items closed", len(citizen_ids), ended.accounts, ended.codes, ended.grants,
             ended.waiting)
    return ended


def _still_acting(connection: Connection, now: dt.datetime) -> list[int]:
    """The dead people something still acts as or waits on. Each part starts from its own small
    table (accounts, live codes, grants, waiting items), never from the million citizens."""
    dead = _CITIZENS.c.status == CitizenStatus.DECEASED

    def of(column: ColumnElement[Any], *where: ColumnElement[bool]) -> Select[Any]:
        return select(column.label("citizen_id")).join(
            _CITIZENS, _CITIZENS.c.id == column).where(dead, *where)

    live_code = (_TOKENS.c.revoked_at.is_(None), _TOKENS.c.expires_at > now)
    in_force = _GRANTS.c.withdrawn_at.is_(None)
    parts = union(
        of(_ACCOUNTS.c.citizen_id),
        of(_TOKENS.c.citizen_id, *live_code), of(_TOKENS.c.presenter_id, *live_code),
        of(_GRANTS.c.grantor_id, in_force), of(_GRANTS.c.proxy_id, in_force),
        of(_PENDING.c.citizen_id, _PENDING.c.status == PendingStatus.PENDING),
        of(_REQUESTS.c.citizen_id, _REQUESTS.c.status == RequestStatus.PENDING),
        of(_REPORTS.c.citizen_id, _REPORTS.c.status == ReportStatus.OPEN),
    ).subquery()
    return sorted(connection.execute(select(parts.c.citizen_id)).scalars())


async def end_after_register(db: Database) -> int:
    """After a file is imported: every person the record now says has died, and whom something
    still acts as or waits on, is ended as a confirmed report ends them; how many. Safe to run
    at any time: a person already ended is not found again."""
    found = await db.read(_still_acting, now_utc())
    for start in range(0, len(found), BATCH):
        await db.write(end_for_all, found[start:start + BATCH], now_utc())
    if found:
        log.info("after an import: %s deceased people's accounts, codes, grants and waiting items "
                 "ended", len(found))
    return len(found)


__all__ = ["Ended", "end_after_register", "end_for", "end_for_all"]
