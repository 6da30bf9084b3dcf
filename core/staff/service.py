"""Inviting, binding, listing and revoking staff."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from core.consent.policy import Reader
from core.db import Database
from core.i18n import N_, now_utc
from core.identity.keys import keyed_digest, keyed_digests
from core.records.facility import Facility
from core.staff.model import StaffInvite, StaffMember, StaffRole

log = logging.getLogger(__name__)
INVITE_VALIDITY = dt.timedelta(hours=72)
_INVITES = StaffInvite.__table__
_MEMBERS = StaffMember.__table__
_FACILITIES = Facility.__table__


def _code_hash(code: str) -> str:
    return keyed_digest(f"staff:{code}".encode())


def _code_hashes(code: str) -> tuple[str, ...]:
    """Every configured key's hash: an invite printed before a key rotation still binds (72 hours)."""
    return keyed_digests(f"staff:{code}".encode())


@dataclass(frozen=True)
class Staff:
    id: int
    account_id: int
    role: StaffRole
    facility_code: str | None
    facility_name: str | None
    ward_code: str | None
    name: str | None
    centre_code: str | None = None
    last_active_at: dt.datetime | None = None

    @property
    def reader(self) -> Reader:
        """The member as core.consent's policy and access log know a reader: role, facility or
        ward, and the name the citizen's access history shows."""
        return Reader(self.account_id, self.role.value, self.facility_code, self.ward_code, self.name,
                      self.facility_name)


# What each role is bound to: a receptionist to a facility; volunteers and station staff to a ward;
# a health centre viewer to a centre; the city's viewers and operators to the whole city.
NEEDS = {StaffRole.RECEPTIONIST: "facility", StaffRole.VOLUNTEER: "ward", StaffRole.STATION: "ward",
         StaffRole.CENTRE_VIEWER: "centre", StaffRole.CITY_VIEWER: None, StaffRole.OPERATOR: None}
NEEDS_TEXT = {"facility": N_("A receptionist needs a facility code."),
              "ward": N_("Volunteers and health station staff need a ward code."),
              "centre": N_("A health centre viewer needs a centre code.")}


def missing_scope(role: StaffRole, facility_code: str | None, ward_code: str | None,
                  centre_code: str | None) -> str | None:
    """Why an invite for this role lacks what binds it (a catalogue message), or None."""
    need = NEEDS[role]
    given = {"facility": facility_code, "ward": ward_code, "centre": centre_code}
    return NEEDS_TEXT[need] if need and not given[need] else None


@dataclass(frozen=True)
class Invite:
    id: int
    code: str  # shown once, to the operator
    expires_at: dt.datetime


def _invite(connection: Connection, role: StaffRole, facility_code: str | None, ward_code: str | None,
            name: str | None, now: dt.datetime, centre_code: str | None = None) -> Invite:
    # 24 URL-safe characters: fits Telegram's deep-link payload (`staff_` + code <= 64).
    code = secrets.token_urlsafe(18)
    expires = now + INVITE_VALIDITY
    result = connection.execute(insert(_INVITES).values(
        code_hash=_code_hash(code), role=role, facility_code=facility_code, ward_code=ward_code,
        centre_code=centre_code, name=name, created_at=now, expires_at=expires).returning(_INVITES.c.id))
    return Invite(result.scalar_one(), code, expires)


async def invite(db: Database, role: StaffRole, *, facility_code: str | None = None,
                 ward_code: str | None = None, name: str | None = None,
                 centre_code: str | None = None) -> Invite:
    created = await db.write(_invite, role, facility_code, ward_code, name, now_utc(), centre_code)
    log.info("staff invite %s created for a %s", created.id, role.value)
    return created


def _accept(connection: Connection, code: str, account_id: int, now: dt.datetime) -> Staff | None:
    row = connection.execute(select(_INVITES).where(_INVITES.c.code_hash.in_(_code_hashes(code)))
                             .with_for_update()).one_or_none()
    if row is None or row.used_at is not None or row.revoked_at is not None or row.expires_at <= now:
        return None
    connection.execute(update(_INVITES).where(_INVITES.c.id == row.id).values(used_at=now))
    # One account holds one staff role at a time: a new binding ends the old one.
    connection.execute(update(_MEMBERS).where(_MEMBERS.c.account_id == account_id,
                                              _MEMBERS.c.revoked_at.is_(None)).values(revoked_at=now))
    connection.execute(insert(_MEMBERS).values(
        account_id=account_id, invite_id=row.id, role=row.role, facility_code=row.facility_code,
        ward_code=row.ward_code, centre_code=row.centre_code, name=row.name, created_at=now))
    return _active(connection, account_id)


async def accept(db: Database, code: str, account_id: int) -> Staff | None:
    """Binds the account to the invite's role; None for an unknown, used, revoked or expired code."""
    staff = await db.write(_accept, code, account_id, now_utc())
    log.info("staff invite %s for account %s", "accepted" if staff else "refused", account_id)
    return staff


_ACTIVE = (
    select(_MEMBERS.c.id, _MEMBERS.c.account_id, _MEMBERS.c.role, _MEMBERS.c.facility_code,
           _FACILITIES.c.name.label("facility_name"), _MEMBERS.c.ward_code, _MEMBERS.c.name,
           _MEMBERS.c.centre_code, _MEMBERS.c.last_active_at)
    .outerjoin(_FACILITIES, _FACILITIES.c.code == _MEMBERS.c.facility_code)
    .where(_MEMBERS.c.revoked_at.is_(None))
)


def _active(connection: Connection, account_id: int) -> Staff | None:
    row = connection.execute(_ACTIVE.where(_MEMBERS.c.account_id == account_id)).first()
    return Staff(*row) if row is not None else None


async def active_staff(db: Database, account_id: int) -> Staff | None:
    return await db.read(_active, account_id)


def _list(connection: Connection, ward_code: str | None, facility_code: str | None) -> list[Staff]:
    query = _ACTIVE.order_by(_MEMBERS.c.id)
    if ward_code is not None:
        query = query.where(_MEMBERS.c.ward_code == ward_code)
    if facility_code is not None:
        query = query.where(_MEMBERS.c.facility_code == facility_code)
    return [Staff(*row) for row in connection.execute(query)]


async def list_staff(db: Database, *, ward_code: str | None = None,
                     facility_code: str | None = None) -> list[Staff]:
    return await db.read(_list, ward_code, facility_code)


def _member(connection: Connection, staff_id: int) -> Staff | None:
    row = connection.execute(_ACTIVE.where(_MEMBERS.c.id == staff_id)).first()
    return Staff(*row) if row is not None else None


async def member(db: Database, staff_id: int) -> Staff | None:
    """An active member by id (None: unknown or revoked)."""
    return await db.read(_member, staff_id)


ACTIVITY_STEP = dt.timedelta(minutes=1)


async def note_activity(db: Database, staff: Staff) -> None:
    """The member did something (in the bot): kept for the team page, written at most once a
    minute (no write at all when the member's last activity is that recent)."""
    now = now_utc()
    if staff.last_active_at is None or staff.last_active_at < now - ACTIVITY_STEP:
        await db.write(touch, staff.id, now)


def touch(connection: Connection, staff_id: int, now: dt.datetime) -> None:
    """Notes the member's activity, at most once a minute (one small write, not one per request)."""
    connection.execute(update(_MEMBERS).where(
        _MEMBERS.c.id == staff_id,
        (_MEMBERS.c.last_active_at.is_(None)) | (_MEMBERS.c.last_active_at < now - ACTIVITY_STEP))
        .values(last_active_at=now))


def _revoke(connection: Connection, staff_id: int, now: dt.datetime) -> bool:
    result = connection.execute(update(_MEMBERS).where(_MEMBERS.c.id == staff_id,
                                                       _MEMBERS.c.revoked_at.is_(None))
                                .values(revoked_at=now))
    return result.rowcount == 1


async def revoke(db: Database, staff_id: int) -> bool:
    done = await db.write(_revoke, staff_id, now_utc())
    log.info("staff %s %s", staff_id, "revoked" if done else "not found or already revoked")
    return done


def _revoke_invite(connection: Connection, invite_id: int, now: dt.datetime) -> bool:
    result = connection.execute(update(_INVITES).where(_INVITES.c.id == invite_id,
                                                       _INVITES.c.used_at.is_(None),
                                                       _INVITES.c.revoked_at.is_(None))
                                .values(revoked_at=now))
    return result.rowcount == 1


async def revoke_invite(db: Database, invite_id: int) -> bool:
    done = await db.write(_revoke_invite, invite_id, now_utc())
    log.info("staff invite %s %s", invite_id, "withdrawn" if done else "not found, used or withdrawn")
    return done


@dataclass(frozen=True)
class OpenInvite:
    """An invite nobody has used yet, still valid: whom it is for, never its code."""

    id: int
    role: StaffRole
    name: str | None
    facility_code: str | None
    ward_code: str | None
    centre_code: str | None
    created_at: dt.datetime
    expires_at: dt.datetime
    facility_name: str | None = None


def _open_invites(connection: Connection, ward_code: str | None, now: dt.datetime) -> list[OpenInvite]:
    query = (select(_INVITES.c.id, _INVITES.c.role, _INVITES.c.name, _INVITES.c.facility_code,
                    _INVITES.c.ward_code, _INVITES.c.centre_code, _INVITES.c.created_at,
                    _INVITES.c.expires_at, _FACILITIES.c.name.label("facility_name"))
             .outerjoin(_FACILITIES, _FACILITIES.c.code == _INVITES.c.facility_code)
             .where(_INVITES.c.used_at.is_(None), _INVITES.c.revoked_at.is_(None),
                    _INVITES.c.expires_at > now)
             .order_by(_INVITES.c.created_at.desc(), _INVITES.c.id.desc()))
    if ward_code is not None:
        query = query.where(_INVITES.c.ward_code == ward_code)
    return [OpenInvite(*row) for row in connection.execute(query)]


async def open_invites(db: Database, *, ward_code: str | None = None) -> list[OpenInvite]:
    """Invites still waiting to be used, newest first: of one ward's team, or of everyone."""
    return await db.read(_open_invites, ward_code, now_utc())


def _invite_ward(connection: Connection, invite_id: int) -> tuple[bool, str | None]:
    row = connection.execute(select(_INVITES.c.ward_code).where(_INVITES.c.id == invite_id)).one_or_none()
    return (row is not None, row.ward_code if row is not None else None)


async def invite_ward(db: Database, invite_id: int) -> tuple[bool, str | None]:
    """Whether the invite exists, and the ward it is for (a station withdraws only its own)."""
    return await db.read(_invite_ward, invite_id)


def _facility_exists(connection: Connection, code: str) -> bool:
    found = connection.execute(select(_FACILITIES.c.code).where(_FACILITIES.c.code == code)).first()
    return found is not None


def _facility_choices(connection: Connection) -> list[tuple[str, str]]:
    return [(row.code, row.name) for row in connection.execute(
        select(_FACILITIES.c.code, _FACILITIES.c.name).order_by(_FACILITIES.c.name, _FACILITIES.c.code))]


async def facility_choices(db: Database) -> list[tuple[str, str]]:
    """Every facility as (code, name), by name: what an invite for a receptionist may name."""
    return await db.read(_facility_choices)


async def facility_exists(db: Database, code: str) -> bool:
    return await db.read(_facility_exists, code)
