"""Messages for citizens that start outside a conversation (an operator's decision).

A transactional outbox: the decision and its notice are written in one
transaction; the bot sends due notices on its own schedule, in the citizen's
language, and marks them sent. A notice is a kind and parameters, not text.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, ForeignKey, Index, String, Text, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column

from core.i18n import now_utc
from core.records.base import Base, BigIntPK, UTCDateTime


class CitizenNotice(Base):
    __tablename__ = "citizen_notices"
    __table_args__ = (Index("ix_citizen_notices_due", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("citizens.id", ondelete="CASCADE"))
    # A notice for one channel account rather than for the citizen's linked accounts: the
    # account a link was taken from is told, though it no longer holds the book.
    account_id: Mapped[int | None] = mapped_column(
        BigIntPK, ForeignKey("channel_accounts.id", ondelete="CASCADE"), nullable=True)
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[str] = mapped_column(Text)  # JSON
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class DueNotice:
    id: int
    citizen_id: int
    kind: str
    params: dict[str, Any]


_NOTICES = CitizenNotice.__table__


def enqueue(connection: Connection, citizen_id: int, kind: str, *, account_id: int | None = None,
            **params: Any) -> None:
    """A notice for the citizen's linked accounts, or for one account (`account_id`)."""
    connection.execute(insert(_NOTICES).values(citizen_id=citizen_id, account_id=account_id, kind=kind,
                                               params=json.dumps(params, ensure_ascii=False),
                                               created_at=now_utc()))


def due(connection: Connection, limit: int = 50) -> list[DueNotice]:
    rows = connection.execute(select(_NOTICES.c.id, _NOTICES.c.citizen_id, _NOTICES.c.kind,
                                     _NOTICES.c.params)
                              .where(_NOTICES.c.sent_at.is_(None)).order_by(_NOTICES.c.id).limit(limit))
    return [DueNotice(r.id, r.citizen_id, r.kind, json.loads(r.params)) for r in rows]


def mark_sent(connection: Connection, ids: list[int]) -> None:
    if ids:
        connection.execute(update(_NOTICES).where(_NOTICES.c.id.in_(ids)).values(sent_at=now_utc()))
