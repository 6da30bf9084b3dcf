"""Gateway sessions: one row per dial on a session-based channel (USSD).

An operator's gateway calls once per screen with its own session id and
everything typed so far. The row remembers the last answer, so a retried
request gets the same screen without doing anything twice, and the screens
still to page through. What a screen showed may be health data: a session's
row is emptied when it ends or times out, and deleted soon after.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    delete,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import insert_if_absent
from core.identity.accounts import ChannelAccount
from core.records.base import Base, BigIntPK, UTCDateTime

# A request still being answered after this long was abandoned by a stopped worker.
BUSY_TIMEOUT = dt.timedelta(seconds=30)


class ChannelSession(Base):
    __tablename__ = "channel_sessions"
    __table_args__ = (
        UniqueConstraint("channel", "gateway_id"),
        Index("ix_channel_sessions_seen", "seen_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    gateway_id: Mapped[str] = mapped_column(String(100))
    account_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("channel_accounts.id", ondelete="CASCADE"))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # Everything typed, as the gateway last sent it; None until the first screen is answered.
    last_text: Mapped[str | None] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)  # the last response, sent again on a retry
    view: Mapped[str | None] = mapped_column(Text)  # the channel's paging state, as JSON
    signed_in: Mapped[bool] = mapped_column(Boolean, default=False)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    busy_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class GatewaySession:
    id: int
    account_id: int
    external_id: str  # the account's key: the caller the session belongs to
    locale: str | None  # the account's language
    started_at: dt.datetime
    seen_at: dt.datetime
    last_text: str | None
    answer: str | None
    view: dict[str, Any]
    signed_in: bool
    closed: bool

    def idle(self, now: dt.datetime) -> dt.timedelta:
        return now - self.seen_at


_SESSIONS = ChannelSession.__table__
_ACCOUNTS = ChannelAccount.__table__
# The session with its account's key and language: one read per request.
_FIND = (select(_SESSIONS, _ACCOUNTS.c.external_id, _ACCOUNTS.c.locale)
         .join(_ACCOUNTS, _ACCOUNTS.c.id == _SESSIONS.c.account_id))


def _session(row: Any) -> GatewaySession:
    try:
        view = json.loads(row.view) if row.view else {}
    except ValueError:
        view = {}
    return GatewaySession(row.id, row.account_id, row.external_id, row.locale, row.started_at, row.seen_at,
                          row.last_text, row.answer, view if isinstance(view, dict) else {},
                          bool(row.signed_in), bool(row.closed))


def find_session(connection: Connection, channel: str, gateway_id: str) -> GatewaySession | None:
    row = connection.execute(_FIND.where(
        _SESSIONS.c.channel == channel, _SESSIONS.c.gateway_id == gateway_id)).one_or_none()
    return _session(row) if row is not None else None


def start_session(connection: Connection, channel: str, gateway_id: str, account_id: int,
                  now: dt.datetime) -> GatewaySession:
    """The session for a new dial (or the one a concurrent first request just made)."""
    insert_if_absent(connection, _SESSIONS, {
        "channel": channel, "gateway_id": gateway_id, "account_id": account_id, "started_at": now,
        "seen_at": now, "signed_in": False, "closed": False}, ("channel", "gateway_id"))
    found = find_session(connection, channel, gateway_id)
    assert found is not None
    return found


def claim_session(connection: Connection, session_id: int, now: dt.datetime) -> bool:
    """Marks the session as being answered; False while another request is answering it."""
    result = connection.execute(
        update(_SESSIONS)
        .where(_SESSIONS.c.id == session_id,
               or_(_SESSIONS.c.busy_since.is_(None), _SESSIONS.c.busy_since < now - BUSY_TIMEOUT))
        .values(busy_since=now))
    return result.rowcount == 1


def release_session(connection: Connection, session_id: int) -> None:
    connection.execute(update(_SESSIONS).where(_SESSIONS.c.id == session_id).values(busy_since=None))


def save_answer(connection: Connection, session_id: int, *, text: str, answer: str,
                view: dict[str, Any], signed_in: bool, closed: bool, now: dt.datetime) -> None:
    """The answer to `text`; a closed session keeps only its last answer, for a retry of it."""
    connection.execute(update(_SESSIONS).where(_SESSIONS.c.id == session_id).values(
        last_text=text, answer=answer, view=None if closed else json.dumps(view, ensure_ascii=False),
        signed_in=signed_in, closed=closed, seen_at=now, busy_since=None))


def end_session(connection: Connection, session_id: int) -> None:
    """Timed out: nothing of what it showed is kept."""
    connection.execute(update(_SESSIONS).where(_SESSIONS.c.id == session_id).values(
        answer=None, view=None, closed=True, busy_since=None))


def end_sessions_of(connection: Connection, account_ids: list[int]) -> None:
    """Every open session of these accounts ends now, nothing of what it showed kept: a USSD
    caller mid-session is not left signed in to a book that is no longer theirs."""
    if account_ids:
        connection.execute(update(_SESSIONS).where(_SESSIONS.c.account_id.in_(account_ids),
                                                   _SESSIONS.c.closed.is_(False))
                           .values(answer=None, view=None, closed=True, signed_in=False, busy_since=None))


def purge_sessions(connection: Connection, before: dt.datetime) -> int:
    """Deletes sessions last used before `before`; returns how many."""
    return connection.execute(delete(_SESSIONS).where(_SESSIONS.c.seen_at < before)).rowcount


__all__ = ["ChannelSession", "GatewaySession", "claim_session", "end_session", "end_sessions_of",
           "find_session", "purge_sessions", "release_session", "save_answer", "start_session"]
