"""What the record keeps about its own intake: import runs and the quarantine."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from core.i18n import now_utc
from core.records.base import Base, BigIntPK, str_enum


class ImportKind(enum.StrEnum):
    ROSTER = "roster"
    QD130_XML = "qd130_xml"
    IMMUNIZATIONS = "immunizations"
    FACILITIES = "facilities"
    SEED = "seed"


class ImportState(enum.StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    # Stopped by an error; `failure` says which kind (never a value of the file).
    FAILED = "failed"
    # Stopped by the operator, or its process ended: `import_status` also reads a running
    # run whose heartbeat has stopped as interrupted.
    INTERRUPTED = "interrupted"


class ImportRun(Base):
    """One file taken in: what it was and what came of it, for operators' reports, and how
    far it has got while it runs (kept here, not in a process: any web worker may ask)."""

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
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[ImportState] = mapped_column(str_enum(ImportState),
                                               default=ImportState.RUNNING)
    dry_run: Mapped[bool] = mapped_column(default=False)
    # While running: `read` counts the rows read so far, and these how far into the file.
    bytes_done: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_total: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime | None]  # the heartbeat
    problem_count: Mapped[int] = mapped_column(Integer, default=0)
    # The report's first problems (`report_json.MAX_STORED_PROBLEMS`): line, where, rejected
    # or a note, and the catalogue message, never a value of the file.
    problems: Mapped[list | None] = mapped_column(JSON)
    failure: Mapped[str | None] = mapped_column(String(100))


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
