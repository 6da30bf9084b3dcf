"""Attempts to prove who someone is, or to open what is not theirs, and the lockouts they cause.

Every caller that counts tries goes through this module: verification (ID, birth
date, phone), PIN sign-in, a volunteer's lookups and reception's check-in codes.
The ID is kept only as a keyed fingerprint (core.identity.keys).
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.records.base import Base, BigIntPK, UTCDateTime, str_enum


class Outcome(enum.StrEnum):
    BIRTH_DATE_MATCHED = "birth_date_matched"
    LINKED = "linked"
    MISMATCH = "mismatch"  # unknown ID, wrong birth date or a number that is not the record's
    NOT_OWN_CONTACT = "not_own_contact"
    NO_PHONE = "no_phone"
    # The record knows only the year (or month) of birth, which the ID itself gives away:
    # nothing secret is left to check, so the person verifies at the ward health station.
    PARTIAL_BIRTH_DATE = "partial_birth_date"
    DECEASED = "deceased"
    LOCKED = "locked"
    # A check-in code or link opened at reception that opened nothing (unknown, expired or
    # replaced): codes are 8 digits, so guessing must stay slow, per account and per facility.
    WRONG_CHECKIN_CODE = "wrong_checkin_code"
    VOLUNTEER_LOOKUP = "volunteer_lookup"  # a volunteer looked a resident up (limited per hour)
    # USSD: the caller's number matched; the link waits for the new PIN (core.identity.pins).
    PHONE_MATCHED = "phone_matched"
    SIGNED_IN = "signed_in"
    # A wrong PIN counts against its account (the number), and against the ID for new links.
    WRONG_PIN = "wrong_pin"

    @property
    def is_failure(self) -> bool:
        return self in (Outcome.MISMATCH, Outcome.NOT_OWN_CONTACT, Outcome.WRONG_PIN,
                        Outcome.PARTIAL_BIRTH_DATE)


class VerificationAttempt(Base):
    """Every verification outcome; the ID only as a keyed fingerprint."""

    __tablename__ = "verification_attempts"
    __table_args__ = (
        Index("ix_verification_attempts_account", "account_id", "at"),
        Index("ix_verification_attempts_id_key", "id_key", "at"),
        Index("ix_verification_attempts_facility", "facility_code", "at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("channel_accounts.id", ondelete="CASCADE"))
    id_key: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[Outcome] = mapped_column(str_enum(Outcome))
    # The facility of the reception desk that tried a check-in code (a per-facility limit).
    facility_code: Mapped[str | None] = mapped_column(String(5))


class IdentityLockout(Base):
    """A personal ID whose verification was paused after too many failures.

    Kept so the ward health station sees IDs locked again and again (someone may be
    trying to open a neighbour's book) and the citizen can be told.
    """

    __tablename__ = "identity_lockouts"
    __table_args__ = (
        Index("ix_identity_lockouts_citizen", "citizen_id", "at"),
        Index("ix_identity_lockouts_id_key", "id_key", "at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    id_key: Mapped[str] = mapped_column(String(64))
    # The record with this ID, when there is one (the fingerprint alone names nobody).
    citizen_id: Mapped[int | None] = mapped_column(
        BigIntPK, ForeignKey("citizens.id", ondelete="CASCADE"), nullable=True)
    channel: Mapped[str] = mapped_column(String(16))
