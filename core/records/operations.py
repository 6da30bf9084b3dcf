"""What the record keeps about its own intake: import runs and the quarantine."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from core.i18n import now_utc
from core.records.base import Base, BigIntPK, str_enum


class ImportKind(enum.StrEnum):
    ROSTER = "roster"
    QD130_XML = "qd130_xml"
    IMMUNIZATIONS = "immunizations"
    FACILITIES = "facilities"
    SEED = "seed"


class ImportRun(Base):
    """One file taken in: what it was and what came of it, for operators' reports."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    kind: Mapped[ImportKind] = mapped_column(str_enum(ImportKind))
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    finished_at: Mapped[dt.datetime | None]
    read: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)


class QuarantineReason(enum.StrEnum):
    NO_MATCHING_CITIZEN = "no_matching_citizen"
    # The ID or card names a resident whose name or birth date is not the file's.
    PERSON_MISMATCH = "person_mismatch"
    UNREADABLE = "unreadable"


class QuarantinedSubmission(Base):
    """A clinic submission the record could not take in, kept whole so nothing is lost."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    import_run_id: Mapped[int | None] = mapped_column(BigIntPK, ForeignKey("import_runs.id"))
    received_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    file_name: Mapped[str] = mapped_column(String(255))
    facility_code: Mapped[str | None] = mapped_column(String(5))
    visit_key: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[QuarantineReason] = mapped_column(str_enum(QuarantineReason))
    # The catalogue message id and its parameters, rendered in the reader's language.
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    resolved_at: Mapped[dt.datetime | None]
