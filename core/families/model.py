"""The tables of who acts for whom: proxy grants and the books teenagers took over.

A guardian's right is not stored here: it comes from the register's guardian link on the
child's record (`citizens.guardian_id` and its provenance), so it follows the register.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.i18n import now_utc
from core.records.base import Base, BigIntPK, UTCDateTime


class ProxyGrantRow(Base):
    """An adult's grant: `proxy_id` may do `powers` with `grantor_id`'s book until withdrawn or
    past `expires_on`. Rows are never deleted, so the history says who could act when."""

    __tablename__ = "proxy_grants"
    __table_args__ = (
        # "Whose books may I open" (every input of an account acting for someone) and
        # "who may act for me" (the grantor's list): both by index, never a scan.
        Index("ix_proxy_grants_proxy", "proxy_id"),
        Index("ix_proxy_grants_grantor", "grantor_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    grantor_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("citizens.id", ondelete="CASCADE"))
    proxy_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("citizens.id", ondelete="CASCADE"))
    powers: Mapped[str] = mapped_column(String(40))  # comma-separated core.families.rules.Power
    granted_on: Mapped[dt.date]
    expires_on: Mapped[dt.date | None]  # the last day it holds; none: until withdrawn
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Where it was given: the grantor's own channel (telegram, ussd) or a ward health station,
    # whose staff member (`confirmed_by`, their name) saw both people's ID cards in person.
    channel: Mapped[str] = mapped_column(String(16))
    confirmed_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now_utc)


class BookHandover(Base):
    """A teenager of 16 or more who verified with their own phone and took their book over:
    the guardian's right ends that day (core.families.rules.guardian_right)."""

    __tablename__ = "book_handovers"

    citizen_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("citizens.id", ondelete="CASCADE"), primary_key=True)
    taken_over_on: Mapped[dt.date]
    channel: Mapped[str] = mapped_column(String(16))
