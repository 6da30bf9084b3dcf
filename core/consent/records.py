"""The consent history and the access log: append-only, hash-chained per citizen
(`core.consent.chain`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.consent.chain import Chained
from core.records.base import Base, BigIntPK, UTCDateTime


class ConsentChange(Chained, Base):
    """One choice of the citizen: the groups a scope of readers may see from now on.

    `facility_code` empty: any clinic at check-in; set: that facility only, until
    `valid_until` (inclusive). Each row states the whole set for its scope, so the
    current choice is the latest row of the scope; an empty set withdraws.
    """

    __tablename__ = "consent_changes"
    __table_args__ = (Index("ix_consent_changes_citizen", "citizen_id", "id"),)

    citizen_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("citizens.id", ondelete="RESTRICT"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    facility_code: Mapped[str | None] = mapped_column(String(5))
    groups: Mapped[str] = mapped_column(String(100))  # comma-separated BookGroup values, sorted
    valid_until: Mapped[dt.date | None]
    channel: Mapped[str] = mapped_column(String(16))  # telegram, ussd, ...
    # "citizen", or for a child "guardian" / "guardian_child_agreed": a child of 7 or more agreed
    # as well, as the guardian confirmed (Decree 13/2023 art. 20; core.families.rules).
    actor: Mapped[str] = mapped_column(String(32))


CONSENT_CONTENT = ("citizen_id", "at", "facility_code", "groups", "valid_until", "channel", "actor")


class AccessEvent(Chained, Base):
    """A read of a citizen's health book by someone who is not the citizen."""

    __tablename__ = "access_events"
    __table_args__ = (Index("ix_access_events_citizen", "citizen_id", "id"),)

    citizen_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("citizens.id", ondelete="RESTRICT"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reader_account_id: Mapped[int | None] = mapped_column(BigIntPK)
    reader_role: Mapped[str] = mapped_column(String(32))  # receptionist, volunteer, ...
    reader_name: Mapped[str | None] = mapped_column(String(100))
    facility_code: Mapped[str | None] = mapped_column(String(5))
    ward_code: Mapped[str | None] = mapped_column(String(5))
    groups: Mapped[str] = mapped_column(String(100))  # what was shown, comma-separated
    # qr, code, card (a visit from a card), lookup; family (a guardian or proxy read it),
    # family_update (they filled in details)
    via: Mapped[str] = mapped_column(String(16))
    token_id: Mapped[int | None] = mapped_column(BigIntPK)


ACCESS_CONTENT = ("citizen_id", "at", "reader_account_id", "reader_role", "reader_name", "facility_code",
                  "ward_code", "groups", "via", "token_id")
