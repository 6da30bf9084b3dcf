"""PINs for channels that know a person only by phone number (USSD).

The caller's number comes from the operator's network, but a phone is lent,
shared in a family or lost: a 4–6 digit PIN, set after full verification,
guards every later session. It is stored as a slow hash (scrypt) of an HMAC
under the server secret, so a copied database alone cannot be searched for the
10,000 four-digit PINs. Five wrong PINs in 24 hours pause that number's sign-in;
they also count against the personal ID, pausing new links to it. A stranger's
wrong birth dates for the ID never pause the owner's own sign-in
(core.identity.attempts).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from itertools import pairwise

from sqlalchemy import Connection, select

from core.db import Database
from core.i18n import N_, Message, now_utc
from core.identity import accounts, attempts
from core.identity.attempts import Outcome
from core.identity.keys import personal_id_key, secret_key
from core.records.citizen import Citizen
from core.validation import InvalidValue

# scrypt cost: about 16 MiB and tens of milliseconds a check on this class of server.
_N, _R, _P, _LENGTH = 2**14, 8, 1, 32
_PIN = re.compile(r"[0-9]{4,6}")
_ACCOUNTS = accounts.ChannelAccount.__table__
_CITIZENS = Citizen.__table__


def looks_like_pin(text: str) -> bool:
    """4 to 6 digits: anything else typed at the PIN question is a slip, not a guess to count."""
    return bool(_PIN.fullmatch((text or "").strip()))


def new_pin(text: str) -> str:
    """A PIN a person may choose: 4 to 6 digits, not one digit repeated, not a run like 1234."""
    value = (text or "").strip()
    if not _PIN.fullmatch(value):
        raise InvalidValue(Message(N_("A PIN has 4 to 6 digits.")))
    steps = {int(b) - int(a) for a, b in pairwise(value)}
    if steps in ({0}, {1}, {-1}):
        raise InvalidValue(Message(N_("That PIN is too easy to guess. Please choose another.")))
    return value


def _stretch(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    peppered = hmac.new(secret_key(), b"pin:" + pin.encode(), hashlib.sha256).digest()
    return hashlib.scrypt(peppered, salt=salt, n=n, r=r, p=p, dklen=_LENGTH, maxmem=64 * 1024 * 1024)


def hash_pin(pin: str) -> str:
    """`scrypt$n$r$p$salt$hash`: the parameters travel with the hash, so they can be raised later."""
    salt = secrets.token_bytes(16)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${_stretch(pin, salt, _N, _R, _P).hex()}"


def pin_matches(pin: str, stored: str | None) -> bool:
    try:
        scheme, n, r, p, salt, expected = (stored or "").split("$")
        if scheme != "scrypt":
            return False
        given = _stretch(pin, bytes.fromhex(salt), int(n), int(r), int(p))
    except ValueError:  # no PIN, or a malformed hash: never a match
        return False
    return hmac.compare_digest(given, bytes.fromhex(expected))


@cache
def _hashing() -> ThreadPoolExecutor:
    # One core fewer than the machine has: a burst of sign-ins queues here instead of
    # starving the event loop that answers everyone else's screens.
    return ThreadPoolExecutor(max(1, (os.cpu_count() or 2) - 1), thread_name_prefix="pin-hash")


async def hash_pin_async(pin: str) -> str:
    """The slow hash, off the event loop and off the database's thread."""
    return await asyncio.get_running_loop().run_in_executor(_hashing(), hash_pin, pin)


async def pin_matches_async(pin: str, stored: str | None) -> bool:
    return await asyncio.get_running_loop().run_in_executor(_hashing(), pin_matches, pin, stored)


def _stored(connection: Connection, account_id: int) -> tuple[str | None, str | None, int | None, bool]:
    """The account's PIN hash, its citizen's ID fingerprint and id, and whether sign-in is paused."""
    row = connection.execute(
        select(_ACCOUNTS.c.pin_hash, _CITIZENS.c.id, _CITIZENS.c.personal_id)
        .outerjoin(_CITIZENS, _CITIZENS.c.id == _ACCOUNTS.c.citizen_id)
        .where(_ACCOUNTS.c.id == account_id)).one_or_none()
    if row is None or row.personal_id is None:
        return None, None, None, False
    locked = attempts.sign_in_locked(connection, account_id)
    return row.pin_hash, personal_id_key(row.personal_id), row.id, locked


def _note(connection: Connection, account: accounts.Account, id_key: str | None, citizen_id: int | None,
          matched: bool) -> Outcome:
    now = now_utc()
    keys = [attempts.account_key(account.id)] + ([attempts.id_lock_key(id_key)] if id_key else [])
    attempts.serialise(connection, *keys)
    if attempts.sign_in_locked(connection, account.id, now):  # another session failed meanwhile
        return Outcome.LOCKED
    outcome = Outcome.SIGNED_IN if matched else Outcome.WRONG_PIN
    # A wrong PIN counts against this number's account (its sign-in) and against the ID, where it
    # guards new links: whoever holds the phone cannot guess the PIN and then re-verify at once.
    attempts.note(connection, account, outcome, now, id_key=id_key, citizen_id=citizen_id)
    if not matched and attempts.sign_in_locked(connection, account.id, now):
        return Outcome.LOCKED
    return outcome


async def sign_in(db: Database, account: accounts.Account, pin: str) -> Outcome:
    """SIGNED_IN, WRONG_PIN or LOCKED (the fifth failure, or already locked)."""
    stored, id_key, citizen_id, locked = await db.read(_stored, account.id)
    if locked:
        return Outcome.LOCKED
    matched = await pin_matches_async(pin, stored)
    return await db.write(_note, account, id_key, citizen_id, matched)


async def pin_locked(db: Database, account: accounts.Account) -> bool:
    """Sign-in is paused after five failures of this number's own account in 24 hours."""
    return (await db.read(_stored, account.id))[3]


__all__ = ["hash_pin", "hash_pin_async", "looks_like_pin", "new_pin", "pin_locked", "pin_matches",
           "pin_matches_async", "sign_in"]
