"""The reception desk opens a check-in link or its 8-digit code.

Every lookup that opens nothing counts, whatever the reason (an unknown, expired or
replaced code, or someone who is not reception): 8 digits are 10^8 codes, so guessing
must stay slow, for each desk account and for the whole facility (a facility with many
accounts cannot guess faster). To anyone but the citizen an expired or replaced code
answers exactly like an unknown one: only the citizen may learn that a code was theirs.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import os
from dataclasses import dataclass

from sqlalchemy import Connection

from core.checkin import tokens
from core.checkin.tokens import CheckinState
from core.consent.access import read_with_token
from core.db import Database
from core.i18n import now_utc
from core.identity import attempts
from core.identity.accounts import Account
from core.identity.attempts import Outcome
from core.records import people
from core.staff.model import StaffRole
from core.staff.service import Staff

log = logging.getLogger(__name__)

WRONG_WINDOW = dt.timedelta(minutes=10)
MAX_WRONG_PER_ACCOUNT = 10


def max_wrong_per_facility() -> int:
    """Wrong lookups a facility's desks may make together in ten minutes."""
    return int(os.environ.get("EHR_CHECKIN_WRONG_PER_FACILITY") or 30)


class DeskState(enum.StrEnum):
    OPEN = "open"  # a receptionist opened a valid code: the card may be read
    OWN = "own"  # the citizen opened their own code
    NOT_VALID = "not_valid"  # unknown, expired, replaced: one answer
    NOT_RECEPTION = "not_reception"  # the account is not reception staff
    PAUSED = "paused"  # too many lookups that opened nothing, for this account or facility


@dataclass(frozen=True)
class DeskLookup:
    state: DeskState
    citizen_id: int | None = None
    token_id: int | None = None
    # A guardian or proxy who shows the code for the person (core.checkin.tokens).
    presenter_id: int | None = None
    presenter_name: str | None = None
    presented_as: str | None = None


def _paused(connection: Connection, account: Account, facility_code: str | None, now: dt.datetime) -> bool:
    since = now - WRONG_WINDOW
    if facility_code is None:
        return attempts.recent(connection, account.id, Outcome.WRONG_CHECKIN_CODE,
                               since) >= MAX_WRONG_PER_ACCOUNT
    by_account, at_facility = attempts.recent_by_account_and_facility(
        connection, account.id, facility_code, Outcome.WRONG_CHECKIN_CODE, since)
    return by_account >= MAX_WRONG_PER_ACCOUNT or at_facility >= max_wrong_per_facility()


def _opened(connection: Connection, found: tokens.ResolvedCheckin) -> DeskLookup:
    """A valid code, open to this desk: whose book, and who shows it for them (if anyone)."""
    presenter = people.by_id(connection, found.presenter_id) if found.presenter_id else None
    return DeskLookup(DeskState.OPEN, found.citizen_id, found.token_id, found.presenter_id,
                      presenter.full_name if presenter else None, found.presented_as)


def _look_up(connection: Connection, account: Account, staff: Staff | None, column: str,
             digest: tuple[str, ...] | None) -> DeskLookup:
    now = now_utc()
    reception = staff is not None and staff.role is StaffRole.RECEPTIONIST
    facility = staff.facility_code if reception and staff is not None else None
    keys = [attempts.account_key(account.id)] + ([f"facility:{facility}"] if facility else [])
    attempts.serialise(connection, *keys)
    if _paused(connection, account, facility, now):
        return DeskLookup(DeskState.PAUSED)
    found = tokens.resolve(connection, column, digest, now) if digest else None
    if found is not None and found.citizen_id is not None and found.citizen_id == account.citizen_id:
        return DeskLookup(DeskState.OWN, found.citizen_id, found.token_id)
    if reception and found is not None and found.state is CheckinState.VALID:
        return _opened(connection, found)
    attempts.note(connection, account, Outcome.WRONG_CHECKIN_CODE, now, facility_code=facility)
    return DeskLookup(DeskState.NOT_VALID if reception else DeskState.NOT_RECEPTION)


def _reopen(connection: Connection, account: Account, staff: Staff | None,
            token_id: int) -> DeskLookup:
    reception = staff is not None and staff.role is StaffRole.RECEPTIONIST
    found = tokens.live(connection, token_id, now_utc()) if reception else None
    if (found is not None and found.citizen_id is not None
            and read_with_token(connection, found.citizen_id, account.id, token_id)):
        return _opened(connection, found)
    return DeskLookup(DeskState.NOT_VALID if reception else DeskState.NOT_RECEPTION)


async def reopen(db: Database, account: Account, staff: Staff | None, token_id: int) -> DeskLookup:
    """A card already open at this desk, read again (a visit opened on request): only while its
    code is valid, and only by the account that opened it. No secret is guessed here (the token's
    number is no code), so nothing is counted."""
    return await db.read(_reopen, account, staff, token_id)


async def open_link(db: Database, account: Account, staff: Staff | None, token: str) -> DeskLookup:
    """A scanned QR code: `/start ci_<token>`."""
    return await db.write(_look_up, account, staff, "token_hash", tokens.token_digest(token))


async def open_code(db: Database, account: Account, staff: Staff | None, typed: str) -> DeskLookup:
    """The 8 digits the person reads out (spaces and dashes allowed)."""
    return await db.write(_look_up, account, staff, "code_hash", tokens.code_digest(typed))


__all__ = ["DeskLookup", "DeskState", "max_wrong_per_facility", "open_code", "open_link", "reopen"]
