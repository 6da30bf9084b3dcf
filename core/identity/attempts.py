"""Attempts to prove who someone is, or to open what is not theirs, and the lockouts they cause.

Every caller that counts tries goes through this module: verification (ID, birth
date, phone), PIN sign-in, a volunteer's lookups and reception's check-in codes.
The ID is kept only as a keyed fingerprint (core.identity.keys).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, ForeignKey, Index, String, bindparam, func, insert, or_, select, text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import ColumnElement

from core import notices
from core.i18n import now_utc
from core.records import people
from core.records.base import Base, BigIntPK, UTCDateTime, str_enum

if TYPE_CHECKING:
    from core.identity.accounts import Account

log = logging.getLogger(__name__)


class Outcome(enum.StrEnum):
    BIRTH_DATE_MATCHED = "birth_date_matched"
    LINKED = "linked"
    MISMATCH = "mismatch"  # unknown ID, wrong birth date or a number that is not the record's
    NOT_OWN_CONTACT = "not_own_contact"
    NO_PHONE = "no_phone"
    # The record knows only the year (or month) of birth, which the ID itself gives away:
    # nothing secret is left to check, so the person verifies at the ward health station.
    PARTIAL_BIRTH_DATE = "partial_birth_date"
    DECEASED = "deceased"
    LOCKED = "locked"
    # A check-in code or link opened at reception that opened nothing (unknown, expired or
    # replaced): codes are 8 digits, so guessing must stay slow, per account and per facility.
    WRONG_CHECKIN_CODE = "wrong_checkin_code"
    VOLUNTEER_LOOKUP = "volunteer_lookup"  # a volunteer looked a resident up (limited per hour)
    PROXY_LOOKUP = "proxy_lookup"  # an adult looked up someone to name as proxy (limited per day)
    # USSD: the caller's number matched; the link waits for the new PIN (core.identity.pins).
    PHONE_MATCHED = "phone_matched"
    SIGNED_IN = "signed_in"
    # A wrong PIN counts against its account (the number), and against the ID for new links.
    WRONG_PIN = "wrong_pin"

    @property
    def is_failure(self) -> bool:
        return self in (Outcome.MISMATCH, Outcome.NOT_OWN_CONTACT, Outcome.WRONG_PIN,
                        Outcome.PARTIAL_BIRTH_DATE)


class VerificationAttempt(Base):
    """Every verification outcome; the ID only as a keyed fingerprint."""

    __tablename__ = "verification_attempts"
    __table_args__ = (
        Index("ix_verification_attempts_account", "account_id", "at"),
        Index("ix_verification_attempts_id_key", "id_key", "at"),
        Index("ix_verification_attempts_facility", "facility_code", "at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("channel_accounts.id", ondelete="CASCADE"))
    id_key: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[Outcome] = mapped_column(str_enum(Outcome))
    # The facility of the reception desk that tried a check-in code (a per-facility limit).
    facility_code: Mapped[str | None] = mapped_column(String(5))


class IdentityLockout(Base):
    """A personal ID whose verification was paused after too many failures.

    Kept so the ward health station sees IDs locked again and again (someone may be
    trying to open a neighbour's book) and the citizen can be told.
    """

    __tablename__ = "identity_lockouts"
    __table_args__ = (
        Index("ix_identity_lockouts_citizen", "citizen_id", "at"),
        Index("ix_identity_lockouts_id_key", "id_key", "at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    id_key: Mapped[str] = mapped_column(String(64))
    # The record with this ID, when there is one (the fingerprint alone names nobody).
    citizen_id: Mapped[int | None] = mapped_column(
        BigIntPK, ForeignKey("citizens.id", ondelete="CASCADE"), nullable=True)
    channel: Mapped[str] = mapped_column(String(16))


MAX_FAILURES = 5
WINDOW = dt.timedelta(hours=24)

_ATTEMPTS = VerificationAttempt.__table__
_LOCKOUTS = IdentityLockout.__table__
_IS_FAILURE = or_(*(_ATTEMPTS.c.outcome == o.value for o in Outcome if o.is_failure))
_SINCE = bindparam("since")
_FAILURES_BY_ACCOUNT = (select(func.count()).select_from(_ATTEMPTS)
                        .where(_ATTEMPTS.c.account_id == bindparam("account_id"), _ATTEMPTS.c.at >= _SINCE,
                               _IS_FAILURE))
# An ID's fingerprint under every configured key: counts survive a key rotation (core.identity.keys).
_FAILURES_BY_ID = (select(func.count()).select_from(_ATTEMPTS)
                   .where(_ATTEMPTS.c.id_key.in_(bindparam("id_keys", expanding=True)),
                          _ATTEMPTS.c.at >= _SINCE, _IS_FAILURE))
# Both counts in one statement, built once: this account's failures, and this ID's from anywhere.
_BOTH = select(_FAILURES_BY_ACCOUNT.scalar_subquery().label("by_account"),
               _FAILURES_BY_ID.scalar_subquery().label("by_id"))


def serialise(connection: Connection, *keys: str) -> None:
    """Makes check-then-record atomic for each key (`account:7`, `id:<fingerprint>`, `facility:01001`).

    PostgreSQL runs concurrent transactions side by side: without this, 200 guesses at once
    all count four failures and are all evaluated. A transaction-scoped advisory lock per
    key, taken in one order (no deadlock), makes them wait their turn. SQLite needs nothing:
    `Database.write` begins with the write lock (BEGIN IMMEDIATE), one writer at a time.
    """
    if connection.dialect.name != "postgresql" or not keys:
        return
    ordered = sorted(set(keys))
    # One statement for all the keys (one round trip): PostgreSQL evaluates a select list left
    # to right, so the locks are still taken in this one order.
    locks = ", ".join(f"pg_advisory_xact_lock(:k{n})" for n in range(len(ordered)))
    connection.execute(text(f"SELECT {locks}"), {
        f"k{n}": int.from_bytes(hashlib.blake2b(f"attempts:{key}".encode(), digest_size=8).digest(),
                                "big", signed=True)
        for n, key in enumerate(ordered)})


def account_key(account_id: int) -> str:
    return f"account:{account_id}"


def id_lock_key(id_keys: Sequence[str]) -> str:
    """The lock of an ID: its fingerprint under the current key (everyone writes with that one)."""
    return f"id:{id_keys[0]}"


def failures(connection: Connection, account_id: int, id_keys: Sequence[str] | None,
             now: dt.datetime) -> tuple[int, int]:
    """Failures in the last 24 hours of this account, and of this ID (its fingerprints under
    every configured key) from any account; no ID, no ID count."""
    row = connection.execute(_BOTH, {"account_id": account_id, "id_keys": list(id_keys or ()),
                                     "since": now - WINDOW}).one()
    return row.by_account, row.by_id


def verification_locked(connection: Connection, account_id: int, id_keys: Sequence[str] | None,
                        now: dt.datetime | None = None) -> bool:
    """A new link is paused after five failures of this account, or of this ID from anywhere."""
    return max(failures(connection, account_id, id_keys, now or now_utc())) >= MAX_FAILURES


def paused_until(connection: Connection, account_id: int, id_keys: Sequence[str] | None,
                 now: dt.datetime | None = None) -> dt.datetime | None:
    """When a paused verification may be tried again: the moment this account's and this ID's
    failures in the last 24 hours drop below five (the failure that keeps each at five ages out)."""
    now = now or now_utc()
    ends = []
    for where in (_ATTEMPTS.c.account_id == account_id,
                  _ATTEMPTS.c.id_key.in_(list(id_keys or ())) if id_keys else None):
        if where is None:
            continue
        times = list(connection.scalars(select(_ATTEMPTS.c.at).where(where, _ATTEMPTS.c.at >= now - WINDOW,
                                                                    _IS_FAILURE)
                                        .order_by(_ATTEMPTS.c.at.desc()).limit(MAX_FAILURES)))
        if len(times) >= MAX_FAILURES:
            ends.append(times[-1] + WINDOW)
    return max(ends) if ends else None


def tries_left(connection: Connection, account_id: int, now: dt.datetime | None = None) -> int:
    """Failures this account may still make before its pause, so the person can be told before
    it comes (never the ID's count: that would tell a stranger someone else tried the ID)."""
    return max(0, MAX_FAILURES - failures(connection, account_id, None, now or now_utc())[0])


def sign_in_locked(connection: Connection, account_id: int, now: dt.datetime | None = None) -> bool:
    """A linked account's PIN sign-in counts only its own failures (its number's): a stranger's
    wrong birth dates for the same ID guard new links, never the owner's own sign-in."""
    return failures(connection, account_id, None, now or now_utc())[0] >= MAX_FAILURES


def note(connection: Connection, account: Account, outcome: Outcome, now: dt.datetime, *,
         id_keys: Sequence[str] | None = None, citizen_id: int | None = None,
         facility_code: str | None = None) -> None:
    """Records one attempt; the failure that pauses an ID records a lockout and tells the citizen.

    Callers hold `serialise` for the account and the ID, so exactly one failure reaches the limit.
    `id_keys`: the ID's fingerprints, current key first (the one written).
    """
    id_key = id_keys[0] if id_keys else None
    connection.execute(insert(_ATTEMPTS).values(at=now, channel=account.channel, account_id=account.id,
                                                id_key=id_key, outcome=outcome,
                                                facility_code=facility_code))
    # No ID, no phone, no name: the account row and a short prefix of the fingerprint.
    log.info("identity attempt: %s (account %s, id ref %s)", outcome.value, account.id,
             id_key[:8] if id_key else "-")
    if not outcome.is_failure or id_key is None:
        return
    by_id = failures(connection, account.id, id_keys, now)[1]
    if by_id != MAX_FAILURES:
        return
    connection.execute(insert(_LOCKOUTS).values(at=now, id_key=id_key, citizen_id=citizen_id,
                                                channel=account.channel))
    log.warning("identity: verification of an ID paused after %d failures (id ref %s)", MAX_FAILURES,
                id_key[:8])
    if citizen_id is not None:  # the owner hears of it on their linked accounts, if any
        notices.enqueue(connection, citizen_id, "verification_paused", at=now.isoformat())


def _count_since(outcome: Outcome, since: dt.datetime, whose: ColumnElement[bool]):
    return select(func.count()).select_from(_ATTEMPTS).where(
        whose, _ATTEMPTS.c.at >= since, _ATTEMPTS.c.outcome == outcome.value).scalar_subquery()


def recent(connection: Connection, account_id: int, outcome: Outcome, since: dt.datetime) -> int:
    """How many attempts of one kind this account made since a moment (hourly, 10-minute limits)."""
    return connection.execute(select(_count_since(
        outcome, since, _ATTEMPTS.c.account_id == account_id))).scalar_one()


def recent_by_account_and_facility(connection: Connection, account_id: int, facility_code: str,
                                   outcome: Outcome, since: dt.datetime) -> tuple[int, int]:
    """`recent` for the account and the same count for its facility, in one statement (one
    round trip): a facility's desks share a limit on codes that open nothing."""
    row = connection.execute(select(
        _count_since(outcome, since, _ATTEMPTS.c.account_id == account_id),
        _count_since(outcome, since, _ATTEMPTS.c.facility_code == facility_code))).one()
    return row[0], row[1]


@dataclass(frozen=True)
class LockedResident:
    """A resident whose ID was paused, for the ward health station: who, how often, when last."""

    citizen_id: int
    full_name: str
    personal_id: str
    ward_code: str | None
    lockouts: int
    last: dt.datetime


def lockouts_since(connection: Connection, since: dt.datetime, ward_code: str | None = None,
                   ) -> tuple[list[LockedResident], int]:
    """Residents whose verification was paused since a moment (most often first), and how many
    pauses hit IDs that no record holds."""
    paused = connection.execute(
        select(_LOCKOUTS.c.citizen_id, func.count().label("lockouts"), func.max(_LOCKOUTS.c.at).label("last"))
        .where(_LOCKOUTS.c.at >= since, _LOCKOUTS.c.citizen_id.is_not(None))
        .group_by(_LOCKOUTS.c.citizen_id)).all()
    found = people.by_ids(connection, (row.citizen_id for row in paused), ward_code=ward_code)
    residents = [LockedResident(p.id, p.full_name, p.personal_id, p.ward_code, row.lockouts, row.last)
                 for row in paused if (p := found.get(row.citizen_id)) is not None]
    residents.sort(key=lambda r: (r.lockouts, r.last), reverse=True)  # most often, then latest, first
    unknown = connection.execute(select(func.count()).select_from(_LOCKOUTS).where(
        _LOCKOUTS.c.at >= since, _LOCKOUTS.c.citizen_id.is_(None))).scalar_one()
    return residents, unknown
