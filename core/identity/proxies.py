"""Naming a proxy: an adult finds the family member who will help them, by ID and birth date.

The lookup is an identity check like verification: one answer for "no such person", "wrong
birth date" and "cannot be named", a few lookups a day per account, and a wrong pair counts
against the ID as a failed verification does (core.identity.attempts).
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from dataclasses import dataclass
from functools import partial

from sqlalchemy import Connection

from core import families
from core.db import Database
from core.families.rules import ADULT_AGE
from core.i18n import now_utc, today_hanoi
from core.identity import attempts
from core.identity.accounts import Account
from core.identity.attempts import Outcome
from core.identity.keys import personal_id_keys
from core.records import people
from core.values import CitizenStatus

log = logging.getLogger(__name__)
LOOKUPS_PER_DAY = 5


class Match(enum.StrEnum):
    FOUND = "found"
    NOT_FOUND = "not_found"  # also: a child, someone no longer active, the person themself
    TOO_MANY = "too_many"


@dataclass(frozen=True)
class ProxyMatch:
    state: Match
    citizen_id: int | None = None
    name: str | None = None


def _match(connection: Connection, account: Account, personal_id: str, born: dt.date) -> ProxyMatch:
    now = now_utc()
    id_keys = personal_id_keys(personal_id)
    attempts.serialise(connection, attempts.account_key(account.id), attempts.id_lock_key(id_keys))
    if attempts.recent(connection, account.id, Outcome.PROXY_LOOKUP,
                       now - dt.timedelta(days=1)) >= LOOKUPS_PER_DAY:
        return ProxyMatch(Match.TOO_MANY)
    if attempts.verification_locked(connection, account.id, id_keys, now):
        return ProxyMatch(Match.NOT_FOUND)
    attempts.note(connection, account, Outcome.PROXY_LOOKUP, now, id_keys=id_keys)
    row = people.by_personal_id(connection, personal_id)
    # The full birth date must match: naming someone gives them the book, so a year is not enough.
    if (row is None or row.birth_date.iso() != born.isoformat() or row.status != CitizenStatus.ACTIVE
            or row.birth_date.age_on(today_hanoi()) < ADULT_AGE or row.id == account.citizen_id):
        attempts.note(connection, account, Outcome.MISMATCH, now, id_keys=id_keys,
                      citizen_id=row.id if row is not None else None)
        return ProxyMatch(Match.NOT_FOUND)
    return ProxyMatch(Match.FOUND, row.id, row.full_name)


async def find_proxy(db: Database, account: Account, personal_id: str, born: dt.date) -> ProxyMatch:
    """The adult this ID and full birth date name, whom the account's citizen may name as proxy."""
    found = await db.write(_match, account, personal_id, born)
    log.info("proxy lookup by account %s: %s", account.id, found.state.value)
    return found


async def name_proxy(db: Database, grantor_id: int, proxy_id: int, powers, *, channel: str,
                     expires_on: dt.date | None = None, confirmed_by: str | None = None) -> int:
    """Records the grant (core.families.grant_proxy) in one transaction; its id."""
    grant_id = await db.write(partial(families.grant_proxy, today=today_hanoi(), channel=channel,
                                      expires_on=expires_on,
                                      confirmed_by=confirmed_by),
                              grantor_id, proxy_id, powers)
    log.info("proxy grant %s recorded (%s)", grant_id, channel)
    return grant_id


__all__ = ["Match", "ProxyMatch", "find_proxy", "name_proxy"]
