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
from dataclasses import dataclass
from functools import cache
from itertools import pairwise

from sqlalchemy import Connection, select, update

from core.db import Database
from core.i18n import N_, Message, now_utc
from core.identity import accounts, attempts
from core.identity.attempts import Outcome
from core.identity.keys import key_id, personal_id_keys, secret_key, secret_keys
from core.records import people
from core.validation import InvalidValue

# scrypt cost: about 16 MiB and tens of milliseconds a check on this class of server.
_N, _R, _P, _LENGTH = 2**14, 8, 1, 32
_PIN = re.compile(r"[0-9]{4,6}")
_ACCOUNTS = accounts.ChannelAccount.__table__


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


def _stretch(pin: str, key: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    peppered = hmac.new(key, b"pin:" + pin.encode(), hashlib.sha256).digest()
    return hashlib.scrypt(peppered, salt=salt, n=n, r=r, p=p, dklen=_LENGTH, maxmem=64 * 1024 * 1024)


@dataclass(frozen=True)
class _StoredPin:
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes
    key_id: str | None  # None: written before hashes named their key


def _parse(stored: str | None) -> _StoredPin | None:
    parts = (stored or "").split("$")
    if len(parts) not in (6, 7) or parts[0] != "scrypt":
        return None
    try:
        return _StoredPin(int(parts[1]), int(parts[2]), int(parts[3]), bytes.fromhex(parts[4]),
                          bytes.fromhex(parts[5]), parts[6] if len(parts) == 7 else None)
    except ValueError:
        return None


def hash_pin(pin: str) -> str:
    """`scrypt$n$r$p$salt$hash$key-id`: the parameters travel with the hash, so they can be raised
    later, and the id names the server key that peppered it, so a rotation tries only that key."""
    key, salt = secret_key(), secrets.token_bytes(16)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${_stretch(pin, key, salt, _N, _R, _P).hex()}${key_id(key)}"


def pin_matches(pin: str, stored: str | None) -> bool:
    parsed = _parse(stored)
    if parsed is None:  # no PIN, or a malformed hash: never a match
        return False
    # The key that peppered it: the current one or, during a rotation, the previous one.
    keys = [k for k in secret_keys() if parsed.key_id in (None, key_id(k))]
    try:
        return any(hmac.compare_digest(_stretch(pin, key, parsed.salt, parsed.n, parsed.r, parsed.p),
                                       parsed.digest) for key in keys)
    except ValueError:  # scrypt parameters out of range
        return False


def pin_needs_rehash(stored: str | None) -> bool:
    """A hash under a previous key or older parameters: redone at the next successful sign-in."""
    parsed = _parse(stored)
    return parsed is not None and (parsed.key_id != key_id(secret_key())
                                   or (parsed.n, parsed.r, parsed.p) != (_N, _R, _P))


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


def _stored(connection: Connection, account_id: int,
            ) -> tuple[str | None, tuple[str, ...] | None, int | None, bool]:
    """The account's PIN hash, its citizen's ID fingerprint and id, and whether sign-in is paused."""
    row = connection.execute(select(_ACCOUNTS.c.pin_hash, _ACCOUNTS.c.citizen_id)
                             .where(_ACCOUNTS.c.id == account_id)).one_or_none()
    person = people.by_id(connection, row.citizen_id) if row is not None and row.citizen_id else None
    if row is None or person is None:
        return None, None, None, False
    locked = attempts.sign_in_locked(connection, account_id)
    return row.pin_hash, personal_id_keys(person.personal_id), person.id, locked


def _note(connection: Connection, account: accounts.Account, id_keys: tuple[str, ...] | None,
          citizen_id: int | None, matched: bool) -> Outcome:
    now = now_utc()
    keys = [attempts.account_key(account.id)] + ([attempts.id_lock_key(id_keys)] if id_keys else [])
    attempts.serialise(connection, *keys)
    if attempts.sign_in_locked(connection, account.id, now):  # another session failed meanwhile
        return Outcome.LOCKED
    outcome = Outcome.SIGNED_IN if matched else Outcome.WRONG_PIN
    # A wrong PIN counts against this number's account (its sign-in) and against the ID, where it
    # guards new links: whoever holds the phone cannot guess the PIN and then re-verify at once.
    attempts.note(connection, account, outcome, now, id_keys=id_keys, citizen_id=citizen_id)
    if not matched and attempts.sign_in_locked(connection, account.id, now):
        return Outcome.LOCKED
    return outcome


async def sign_in(db: Database, account: accounts.Account, pin: str) -> Outcome:
    """SIGNED_IN, WRONG_PIN or LOCKED (the fifth failure, or already locked)."""
    stored, id_keys, citizen_id, locked = await db.read(_stored, account.id)
    if locked:
        return Outcome.LOCKED
    matched = await pin_matches_async(pin, stored)
    outcome = await db.write(_note, account, id_keys, citizen_id, matched)
    if outcome is Outcome.SIGNED_IN:
        await _rehash_if_stale(db, account.id, pin, stored)
    return outcome


# --- key rotation: a PIN peppered with the previous key takes the current one ----------------

def _replace_pin_hash(connection: Connection, account_id: int, old: str, new: str) -> None:
    # Only if unchanged meanwhile: a PIN chosen again in another session is not overwritten.
    connection.execute(update(_ACCOUNTS).where(_ACCOUNTS.c.id == account_id, _ACCOUNTS.c.pin_hash == old)
                       .values(pin_hash=new))


async def _rehash_if_stale(db: Database, account_id: int, pin: str, stored: str | None) -> None:
    """After a successful sign-in, the only moment the PIN itself is known again."""
    if stored is not None and pin_needs_rehash(stored):
        await db.write(_replace_pin_hash, account_id, stored, await hash_pin_async(pin))


async def pin_tries_left(db: Database, account: accounts.Account) -> int:
    """Wrong PINs still allowed before sign-in pauses (this account's own failures)."""
    return await db.read(attempts.tries_left, account.id)


async def pin_locked(db: Database, account: accounts.Account) -> bool:
    """Sign-in is paused after five failures of this number's own account in 24 hours."""
    return (await db.read(_stored, account.id))[3]


__all__ = ["hash_pin", "hash_pin_async", "looks_like_pin", "new_pin", "pin_locked", "pin_matches",
           "pin_matches_async", "pin_needs_rehash", "pin_tries_left", "sign_in"]
