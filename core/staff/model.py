"""Staff invites and the staff they bind: a role, a facility or a ward, a Telegram account."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.i18n import N_
from core.records.base import Base, BigIntPK, UTCDateTime, str_enum


class StaffRole(enum.StrEnum):
    RECEPTIONIST = "receptionist"
    VOLUNTEER = "volunteer"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    StaffRole.RECEPTIONIST: N_("Receptionist"),
    StaffRole.VOLUNTEER: N_("Volunteer"),
}


class StaffInvite(Base):
    """A single-use code an operator hands to a staff member; stored only as a keyed hash."""

    __tablename__ = "staff_invites"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[StaffRole] = mapped_column(str_enum(StaffRole))
    facility_code: Mapped[str | None] = mapped_column(String(5), ForeignKey("facilities.code"))
    ward_code: Mapped[str | None] = mapped_column(String(5))
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
    name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
