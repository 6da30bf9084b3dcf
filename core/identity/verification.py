"""Identity verification: personal ID, then birth date, then the person's own phone number.

The account is linked only when all three agree with the record. A refusal never
says which part was wrong, nor whether the ID exists. Five failures within 24
hours, counted per account and separately per personal ID, lock verification;
the person can then verify in person at the ward health station.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import Connection

from core import families, validation
from core.db import Database
from core.i18n import now_utc, today_hanoi
from core.identity import accounts, attempts
from core.identity.attempts import MAX_FAILURES, Outcome
from core.identity.keys import personal_id_keys
from core.records import people
from core.records.facility import station_of_ward
from core.values import CitizenStatus

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Claim:
    """Who the person says they are: the ID's fingerprint and the matching record, if any.

    Kept in the conversation state between steps instead of the ID itself.
    """

    id_keys: tuple[str, ...]  # the ID's fingerprint under every configured key, current first
    candidate: int | None

    @property
    def id_key(self) -> str:
        return self.id_keys[0]

    def to_data(self) -> dict[str, object]:
        return {"id_keys": list(self.id_keys), "candidate": self.candidate}

    @classmethod
    def from_data(cls, data: dict[str, object]) -> Claim | None:
        keys = data.get("id_keys")
        candidate = data.get("candidate")
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
            return None
        return cls(tuple(keys), candidate if isinstance(candidate, int) else None)



def is_locked(connection: Connection, account_id: int, id_keys: tuple[str, ...] | None = None,
              now: dt.datetime | None = None) -> bool:
    return attempts.verification_locked(connection, account_id, id_keys, now)


def _guarded(connection: Connection, account: accounts.Account, claim: Claim, now: dt.datetime) -> bool:
    """Serialises this account's and this ID's tries, then says whether they are paused."""
    attempts.serialise(connection, attempts.account_key(account.id), attempts.id_lock_key(claim.id_keys))
    return attempts.verification_locked(connection, account.id, claim.id_keys, now)


def record_attempt(connection: Connection, account: accounts.Account, claim: Claim, outcome: Outcome,
                   now: dt.datetime) -> Outcome:
    """Notes the outcome; a failure that reaches the limit is answered as LOCKED."""
    attempts.note(connection, account, outcome, now, id_keys=claim.id_keys, citizen_id=claim.candidate)
    if outcome.is_failure and attempts.verification_locked(connection, account.id, claim.id_keys, now):
        return Outcome.LOCKED
    return outcome


def _claim(connection: Connection, personal_id: str) -> Claim:
    person = people.by_personal_id(connection, personal_id)
    return Claim(personal_id_keys(personal_id), person.id if person is not None else None)


def _check_birth_date(connection: Connection, account: accounts.Account, claim: Claim,
                      born: dt.date) -> Outcome:
    now = now_utc()
    if _guarded(connection, account, claim, now):
        return Outcome.LOCKED
    row = people.by_id(connection, claim.candidate) if claim.candidate is not None else None
    if row is None or not row.birth_date.matches(born):
        return record_attempt(connection, account, claim, Outcome.MISMATCH, now)
    if not row.birth_date.is_full:
        # The ID's own digits give the birth year: a year (or month) alone proves nothing, so
        # this person verifies at the ward health station. Counted, so IDs cannot be probed.
        return record_attempt(connection, account, claim, Outcome.PARTIAL_BIRTH_DATE, now)
    if row.status == CitizenStatus.DECEASED:
        return record_attempt(connection, account, claim, Outcome.DECEASED, now)
    if not row.phone:
        return record_attempt(connection, account, claim, Outcome.NO_PHONE, now)
    return record_attempt(connection, account, claim, Outcome.BIRTH_DATE_MATCHED, now)


def _confirm_phone(connection: Connection, account: accounts.Account, claim: Claim,
                   shared_number: str, own_contact: bool, link: bool = True,
                   pin_hash: str | None = None) -> Outcome:
    now = now_utc()
    if _guarded(connection, account, claim, now):
        return Outcome.LOCKED
    if not own_contact:  # Telegram: contact.user_id must be the sender's own
        return record_attempt(connection, account, claim, Outcome.NOT_OWN_CONTACT, now)
    row = people.by_id(connection, claim.candidate) if claim.candidate is not None else None
    try:
        shared = validation.phone(shared_number)
    except validation.InvalidValue:  # a foreign or landline number cannot be the record's mobile
        shared = None
    # `phone` is the verifying number only: a clinic's contact number is kept apart and never
    # checked here (core.records.provenance.may_supply).
    if row is None or row.phone is None or shared != row.phone or not row.birth_date.is_full:
        return record_attempt(connection, account, claim, Outcome.MISMATCH, now)
    if not link:
        return record_attempt(connection, account, claim, Outcome.PHONE_MATCHED, now)
    assert claim.candidate is not None
    accounts.link_citizen(connection, account.id, account.channel, claim.candidate, pin_hash)
    # A teenager of 16 or more who verifies with their own phone keeps their own book from now on;
    # the guardian is told (core.families.take_over; nothing happens for anyone else).
    families.take_over(connection, claim.candidate, today_hanoi(), account.channel)
    return record_attempt(connection, account, claim, Outcome.LINKED, now)


# --- The service: each step one transaction ------------------------------------------


def _claim_checked(connection: Connection, account_id: int, personal_id: str) -> tuple[Claim, bool]:
    claim = _claim(connection, personal_id)
    return claim, is_locked(connection, account_id, claim.id_keys)


async def lookup(db: Database, personal_id: str) -> Claim:
    return await db.read(_claim, personal_id)


async def claim_identity(db: Database, account: accounts.Account, personal_id: str) -> tuple[Claim, bool]:
    """The claim for a typed ID, and whether verification is locked for it or this account."""
    return await db.read(_claim_checked, account.id, personal_id)


async def locked(db: Database, account: accounts.Account, claim: Claim | None = None) -> bool:
    return await db.read(is_locked, account.id, claim.id_keys if claim else None)


async def paused_until(db: Database, account: accounts.Account,
                       claim: Claim | None = None) -> dt.datetime:
    """When a paused verification may be tried again, for this account or this ID (it says nothing
    of a record); a day from now when nothing is paused any more."""
    until = await db.read(attempts.paused_until, account.id, claim.id_keys if claim else None)
    return until or now_utc() + attempts.WINDOW


async def ward_station(db: Database, claim: Claim) -> str | None:
    """The health station of the claimed record's ward, for a person whose ID and birth date
    matched: where to finish in person."""
    if claim.candidate is None:
        return None
    person = await db.read(people.by_id, claim.candidate)
    if person is None or person.ward_code is None:
        return None
    return await station_of_ward(db, person.ward_code)


async def tries_left(db: Database, account: accounts.Account) -> int:
    """Failed tries this account still has before verification pauses. Counted on the account
    alone: a count that took in the ID's failures from elsewhere would tell whoever types an
    ID that others have tried it. The ID's own pause still comes, with its own message."""
    return await db.read(attempts.tries_left, account.id)


async def check_birth_date(db: Database, account: accounts.Account, claim: Claim,
                           born: dt.date) -> Outcome:
    return await db.write(_check_birth_date, account, claim, born)


async def confirm_phone(db: Database, account: accounts.Account, claim: Claim, shared_number: str,
                        *, own_contact: bool, link: bool = True, pin_hash: str | None = None) -> Outcome:
    """Checks the number against the record and links the account (`link=False`: check only).

    A channel with PINs links with the PIN's hash in the same transaction, so a linked
    USSD account always has a PIN.
    """
    return await db.write(_confirm_phone, account, claim, shared_number, own_contact, link, pin_hash)


async def status_of(db: Database, claim: Claim) -> CitizenStatus | None:
    """The claimed record's residence status, once the claim is proven."""
    if claim.candidate is None:
        return None
    person = await db.read(people.by_id, claim.candidate)
    return person.status if person is not None else None


async def unlink(db: Database, account: accounts.Account) -> None:
    await db.write(accounts.unlink_citizen, account.id)
    log.info("identity: account %s unlinked", account.id)


__all__ = ["MAX_FAILURES", "Claim", "Outcome", "check_birth_date", "claim_identity", "confirm_phone",
           "is_locked", "locked", "lookup", "record_attempt", "status_of", "tries_left", "unlink"]
