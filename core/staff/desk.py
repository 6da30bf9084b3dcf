"""Signing staff in to the web console: one-time links and short sessions, both in the database.

A link is sent by the bot to a bound staff account (or printed by `python -m core desk link` for
the first operator); it opens one session, once, within minutes. The session's cookie holds a
random key; the table keeps only its keyed hash, with the session's CSRF token. Every request
checks the session against the member, so revoking a member ends their sessions at once, in
every worker (nothing is held in a process's memory).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from core.db import Database
from core.i18n import now_utc
from core.identity.accounts import ChannelAccount
from core.identity.keys import keyed_digest, keyed_digests
from core.staff import service
from core.staff.model import DeskSession, DeskSignin, StaffMember, StaffRole
from core.staff.service import Staff

log = logging.getLogger(__name__)
_SIGNINS = DeskSignin.__table__
_SESSIONS = DeskSession.__table__

SIGNIN_VALIDITY = dt.timedelta(minutes=10)
# Short sessions on shared desk computers: half an hour idle, a working day at most.
SESSION_IDLE = dt.timedelta(minutes=30)
SESSION_LONGEST = dt.timedelta(hours=9)
_SEEN_STEP = dt.timedelta(minutes=1)  # `seen_at` is written at most once a minute


def _hash(kind: str, secret: str) -> str:
    return keyed_digest(f"desk-{kind}:{secret}".encode())


def _hashes(kind: str, secret: str) -> tuple[str, ...]:
    return keyed_digests(f"desk-{kind}:{secret}".encode())


def _issue(connection: Connection, staff_id: int, now: dt.datetime) -> str | None:
    if service._member(connection, staff_id) is None:
        return None
    token = secrets.token_urlsafe(32)
    connection.execute(insert(_SIGNINS).values(token_hash=_hash("signin", token), staff_id=staff_id,
                                               created_at=now, expires_at=now + SIGNIN_VALIDITY))
    return token


async def issue_signin(db: Database, staff_id: int) -> str | None:
    """A new one-time sign-in token for an active member (None: unknown or revoked)."""
    token = await db.write(_issue, staff_id, now_utc())
    log.info("desk sign-in link %s for staff %s", "issued" if token else "refused", staff_id)
    return token


def _live_signin(connection: Connection, token: str, now: dt.datetime):
    return connection.execute(select(_SIGNINS).where(
        _SIGNINS.c.token_hash.in_(_hashes("signin", token)), _SIGNINS.c.used_at.is_(None),
        _SIGNINS.c.expires_at > now)).first()


async def signin_is_valid(db: Database, token: str) -> bool:
    """Whether the link would sign in now; opening the page does not use it up (a chat app's
    link preview fetches it), only the button does."""
    return await db.read(lambda c: _live_signin(c, token, now_utc()) is not None)


@dataclass(frozen=True)
class NewSession:
    key: str  # for the cookie only
    staff: Staff


def _redeem(connection: Connection, token: str, now: dt.datetime) -> NewSession | None:
    # Claimed by the update itself: of two presses at once, only one finds it unused.
    claimed = connection.execute(update(_SIGNINS).where(
        _SIGNINS.c.token_hash.in_(_hashes("signin", token)), _SIGNINS.c.used_at.is_(None),
        _SIGNINS.c.expires_at > now).values(used_at=now).returning(_SIGNINS.c.staff_id)).first()
    staff = service._member(connection, claimed.staff_id) if claimed is not None else None
    if staff is None:
        return None
    key = secrets.token_urlsafe(32)
    connection.execute(insert(_SESSIONS).values(key_hash=_hash("session", key), staff_id=staff.id,
                                                csrf=secrets.token_urlsafe(32), created_at=now,
                                                seen_at=now))
    service.touch(connection, staff.id, now)
    return NewSession(key, staff)


async def redeem_signin(db: Database, token: str) -> NewSession | None:
    """Uses the link up and opens a session; None when it is unknown, used, expired or its member
    was revoked (one answer for all)."""
    opened = await db.write(_redeem, token, now_utc())
    log.info("desk sign-in %s", f"opened for staff {opened.staff.id}" if opened else "refused")
    return opened


@dataclass(frozen=True)
class SignedIn:
    session_id: int
    staff: Staff
    csrf: str


def _session(connection: Connection, key: str, now: dt.datetime) -> SignedIn | None:
    row = connection.execute(select(_SESSIONS).where(
        _SESSIONS.c.key_hash.in_(_hashes("session", key)), _SESSIONS.c.ended_at.is_(None),
        _SESSIONS.c.seen_at > now - SESSION_IDLE, _SESSIONS.c.created_at > now - SESSION_LONGEST)).first()
    staff = service._member(connection, row.staff_id) if row is not None else None
    if row is None or staff is None:
        return None
    if row.seen_at < now - _SEEN_STEP:
        connection.execute(update(_SESSIONS).where(_SESSIONS.c.id == row.id).values(seen_at=now))
        service.touch(connection, staff.id, now)
    return SignedIn(row.id, staff, row.csrf)


async def signed_in(db: Database, key: str) -> SignedIn | None:
    """The session's member, while the session is live and the member not revoked."""
    return await db.write(_session, key, now_utc())


async def sign_out(db: Database, session_id: int) -> None:
    await db.write(lambda c: c.execute(update(_SESSIONS).where(_SESSIONS.c.id == session_id)
                                       .values(ended_at=now_utc())))


def _desk_operator(connection: Connection, role: StaffRole, name: str, ward_code: str | None,
                   centre_code: str | None, now: dt.datetime) -> Staff:
    """A member with no chat account (the first operator): an invite accepted at once by an
    account of the console's own channel, so every member is bound the same way. Asked again for
    the same person (same role, name and place, not revoked), the same member: a second sign-in
    link must not make a second, indistinguishable operator."""
    members, accounts_ = StaffMember.__table__, ChannelAccount.__table__
    same = connection.execute(
        select(members.c.id).join(accounts_, accounts_.c.id == members.c.account_id)
        .where(accounts_.c.channel == "desk", members.c.revoked_at.is_(None), members.c.role == role,
               members.c.name == name, members.c.ward_code.is_not_distinct_from(ward_code),
               members.c.centre_code.is_not_distinct_from(centre_code))
        .order_by(members.c.id).limit(1)).scalar()
    if same is not None:
        found = service._member(connection, same)
        assert found is not None
        return found
    invite = service._invite(connection, role, None, ward_code, name, now, centre_code)
    account_id = connection.execute(insert(ChannelAccount.__table__).values(
        channel="desk", external_id=f"operator-{invite.id}", state_version=0)
        .returning(ChannelAccount.__table__.c.id)).scalar_one()
    staff = service._accept(connection, invite.code, account_id, now)
    assert staff is not None
    return staff


async def desk_operator(db: Database, role: StaffRole, name: str, *, ward_code: str | None = None,
                        centre_code: str | None = None) -> Staff:
    staff = await db.write(_desk_operator, role, name, ward_code, centre_code, now_utc())
    log.info("desk-only staff %s created as %s", staff.id, role.value)
    return staff
