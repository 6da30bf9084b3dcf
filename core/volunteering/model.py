"""What volunteers enter with a resident, and what they report of one (moved away, died): kept apart
until the resident or the station confirms it."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from core.records.base import Base, BigIntPK, UTCDateTime, str_enum
from core.values import PartialDate


class PendingStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"  # by the resident or the station, or replaced by a newer entry


class PendingValue(Base):
    """A detail a volunteer entered with a resident: applied only once confirmed.

    The resident confirms in the bot if their account is linked; otherwise the ward
    health station confirms (`python -m core pending confirm`).
    """

    __tablename__ = "pending_values"
    __table_args__ = (Index("ix_pending_values_citizen", "citizen_id", "status"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("citizens.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(254))  # as register.serialize writes it
    staff_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("staff_members.id"))
    ward_code: Mapped[str | None] = mapped_column(String(5))
    status: Mapped[PendingStatus] = mapped_column(str_enum(PendingStatus), default=PendingStatus.PENDING)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(32))  # "citizen", "health_station" or "replaced"


class ChangeKind(enum.StrEnum):
    """What a volunteer reports of a resident: the record's status it would become."""

    MOVED_AWAY = "moved_away"
    DECEASED = "deceased"


class ReportStatus(enum.StrEnum):
    OPEN = "open"  # waits for the health station
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    CLOSED = "closed"  # the register said the death first (core.volunteering.deaths)


_OPEN_SQL = f"status = '{ReportStatus.OPEN.value}'"


class WardChangeReport(Base):
    """A volunteer's word that a resident of their ward moved away or died: applied to the
    record only once the ward health station confirms it (core.volunteering.changes)."""

    __tablename__ = "ward_change_reports"
    __table_args__ = (
        # The station's list: a ward's open reports.
        Index("ix_ward_change_reports_ward", "status", "ward_code"),
        # One open report per resident: a second waits on the first, even from two workers at once.
        Index("uq_ward_change_reports_open", "citizen_id", unique=True,
              sqlite_where=text(_OPEN_SQL), postgresql_where=text(_OPEN_SQL)),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("citizens.id", ondelete="CASCADE"))
    ward_code: Mapped[str] = mapped_column(String(5))  # the resident's ward (the volunteer's) when reported
    kind: Mapped[ChangeKind] = mapped_column(str_enum(ChangeKind))
    # When it happened, as far as known (a month and year will do); none: not known.
    happened_on: Mapped[PartialDate | None]
    # Where the resident went, as the volunteer heard it (another ward or province), and a note.
    destination: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(String(500), default="")
    staff_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("staff_members.id"))
    status: Mapped[ReportStatus] = mapped_column(str_enum(ReportStatus), default=ReportStatus.OPEN)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(100))  # the station staff member's name
    decision_reason: Mapped[str | None] = mapped_column(String(500))  # a rejection's, for the volunteer
