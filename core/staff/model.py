"""Staff invites and the staff they bind: a role, a facility or a ward, a Telegram account."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.i18n import N_
from core.records.base import Base, BigIntPK, UTCDateTime, str_enum


class StaffRole(enum.StrEnum):
    RECEPTIONIST = "receptionist"  # a facility's reception desk: opens check-in codes
    VOLUNTEER = "volunteer"  # a ward's youth-union volunteer: never clinical data
    STATION = "station"  # a ward health station's staff: confirms what volunteers and citizens submit
    CENTRE_VIEWER = "centre_viewer"  # a regional health centre: its wards' figures, never a person
    CITY_VIEWER = "city_viewer"  # the city's health department: figures, never a person
    OPERATOR = "operator"  # the city's operator: the team and imports, and the city's figures

    @property
    def sees_people(self) -> bool:
        """Only these roles ever see a person's data (each within its own facility or ward)."""
        return self in (StaffRole.RECEPTIONIST, StaffRole.VOLUNTEER, StaffRole.STATION)

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    StaffRole.RECEPTIONIST: N_("Receptionist"),
    StaffRole.VOLUNTEER: N_("Volunteer"),
    StaffRole.STATION: N_("Health station staff"),
    StaffRole.CENTRE_VIEWER: N_("Health centre viewer"),
    StaffRole.CITY_VIEWER: N_("City viewer"),
    StaffRole.OPERATOR: N_("Operator"),
}


class StaffInvite(Base):
    """A single-use code an operator hands to a staff member; stored only as a keyed hash."""

    __tablename__ = "staff_invites"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[StaffRole] = mapped_column(str_enum(StaffRole))
    facility_code: Mapped[str | None] = mapped_column(String(5), ForeignKey("facilities.code"))
    ward_code: Mapped[str | None] = mapped_column(String(5))
    centre_code: Mapped[str | None] = mapped_column(String(16))  # a health centre viewer's centre
    name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class StaffMember(Base):
    """A bound staff account; revoking ends it at once."""

    __tablename__ = "staff_members"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    account_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("channel_accounts.id", ondelete="CASCADE"),
                                            index=True)
    invite_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("staff_invites.id"))
    role: Mapped[StaffRole] = mapped_column(str_enum(StaffRole))
    facility_code: Mapped[str | None] = mapped_column(String(5), ForeignKey("facilities.code"))
    ward_code: Mapped[str | None] = mapped_column(String(5))
    centre_code: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The last time the member did anything (the bot or the console), at most a minute stale.
    last_active_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class DeskSignin(Base):
    """A one-time sign-in link for the web console, sent by the bot or printed by `core desk`.

    Stored only as a keyed hash; it opens a session once, within minutes.
    """

    __tablename__ = "desk_signins"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("staff_members.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class DeskSession(Base):
    """A signed-in console session: the cookie holds a random key, the table its keyed hash.

    Checked on every request against the member (a revoked member's session stops at once).
    """

    __tablename__ = "desk_sessions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("staff_members.id", ondelete="CASCADE"),
                                          index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
