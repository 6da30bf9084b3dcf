"""Check-in tokens: a random link token and an 8-digit code, valid a few minutes.

The token (128 bits) travels in the QR code's deep link; the code is read aloud
when scanning fails. Both are stored only as keyed hashes. Asking for a new code
revokes the previous one, so only the latest shown code opens the book.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ForeignKey, Index, String, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Database
from core.i18n import now_utc
from core.identity.keys import keyed_digest, keyed_digests
from core.records.base import Base, BigIntPK, UTCDateTime

log = logging.getLogger(__name__)


def token_validity() -> dt.timedelta:
    return dt.timedelta(minutes=int(os.environ.get("EHR_CHECKIN_MINUTES") or 10))


class CheckinToken(Base):
    __tablename__ = "checkin_tokens"
    __table_args__ = (Index("ix_checkin_tokens_citizen", "citizen_id", "revoked_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("citizens.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_hash: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Who shows the code when it is not the person themself: their guardian or proxy (the card says
    # so, and they are told of the check-in too), and in what capacity (core.families.Capacity;
    # `guardian_child_agreed`: a child of 7 or more agreed, as the guardian confirmed).
    presenter_id: Mapped[int | None] = mapped_column(BigIntPK, nullable=True)  # no FK: migration 0016
    presented_as: Mapped[str | None] = mapped_column(String(24))


def _hash(kind: str, secret: str) -> str:
    return keyed_digest(f"{kind}:{secret}".encode())


def _hashes(kind: str, secret: str) -> tuple[str, ...]:
    """Under the current key and, during a key rotation, the previous one: a code shown just
    before the rotation still opens the card for its ten minutes."""
    return keyed_digests(f"{kind}:{secret}".encode())


@dataclass(frozen=True)
class IssuedCheckin:
    token: str  # for the deep link: ci_<token>
    code: str  # 8 digits
    expires_at: dt.datetime

    @property
    def spoken_code(self) -> str:
        return f"{self.code[:4]} {self.code[4:]}"  # read aloud in two groups: 4821 3907


class CheckinState(enum.StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ResolvedCheckin:
    state: CheckinState
    token_id: int | None = None
    citizen_id: int | None = None
    presenter_id: int | None = None
    presented_as: str | None = None


_TOKENS = CheckinToken.__table__


_STATE = select(_TOKENS.c.id, _TOKENS.c.citizen_id, _TOKENS.c.expires_at, _TOKENS.c.revoked_at,
                _TOKENS.c.presenter_id, _TOKENS.c.presented_as)


def _issue(connection: Connection, citizen_id: int, channel: str, now: dt.datetime,
           presenter: tuple[int, str] | None) -> IssuedCheckin:
    connection.execute(update(_TOKENS).where(_TOKENS.c.citizen_id == citizen_id,
                                             _TOKENS.c.revoked_at.is_(None),
                                             _TOKENS.c.expires_at > now).values(revoked_at=now))
    token = secrets.token_urlsafe(16)  # 128 random bits
    code = f"{secrets.randbelow(10**8):08d}"
    expires = now + token_validity()
    connection.execute(_TOKENS.insert().values(
        citizen_id=citizen_id, token_hash=_hash("token", token), code_hash=_hash("code", code),
        channel=channel, created_at=now, expires_at=expires,
        presenter_id=presenter[0] if presenter else None, presented_as=presenter[1] if presenter else None))
    return IssuedCheckin(token, code, expires)


async def issue(db: Database, citizen_id: int, channel: str,
                presenter: tuple[int, str] | None = None) -> IssuedCheckin:
    """A new code for the citizen's book (the one before it stops working); `presenter`: the
    guardian or proxy who will show it, and in what capacity."""
    issued = await db.write(_issue, citizen_id, channel, now_utc(), presenter)
    log.info("check-in code issued (citizen %s, %s)", citizen_id, channel)
    return issued


def revoke_all(connection: Connection, citizen_ids: Sequence[int], now: dt.datetime) -> int:
    """Every live code of these citizens' books, and every code they were to show for someone
    else, stops opening a card (deaths: core.volunteering.deaths); how many."""
    live = (_TOKENS.c.revoked_at.is_(None), _TOKENS.c.expires_at > now)
    return connection.execute(update(_TOKENS).where(
        *live, _TOKENS.c.citizen_id.in_(citizen_ids) | _TOKENS.c.presenter_id.in_(citizen_ids))
        .values(revoked_at=now)).rowcount


def resolve(connection: Connection, column: str, digests: tuple[str, ...],
            now: dt.datetime) -> ResolvedCheckin:
    """The token whose `token_hash` or `code_hash` is one of `digests` (the secret under every
    configured key, for a key rotation); core.checkin.desk counts the tries."""
    rows = connection.execute(_STATE.where(_TOKENS.c[column].in_(digests))
                              .order_by(_TOKENS.c.id.desc())).all()
    if not rows:
        return ResolvedCheckin(CheckinState.UNKNOWN)
    # A code may repeat over time (10^8 of them): the live one wins, else the newest.
    live = next((r for r in rows if r.revoked_at is None and r.expires_at > now), rows[0])
    return _state(live, now)


def live(connection: Connection, token_id: int, now: dt.datetime) -> ResolvedCheckin | None:
    """A token neither expired nor replaced (its citizen and presenter): a card opened with it
    may still be read; None otherwise."""
    row = connection.execute(_STATE.where(_TOKENS.c.id == token_id)).first()
    found = _state(row, now) if row is not None else None
    return found if found is not None and found.state is CheckinState.VALID else None


def _state(row, now: dt.datetime) -> ResolvedCheckin:
    if row.revoked_at is not None:
        return ResolvedCheckin(CheckinState.REVOKED, row.id, row.citizen_id)
    if row.expires_at <= now:
        return ResolvedCheckin(CheckinState.EXPIRED, row.id, row.citizen_id)
    return ResolvedCheckin(CheckinState.VALID, row.id, row.citizen_id, row.presenter_id, row.presented_as)


def token_digest(token: str) -> tuple[str, ...] | None:
    """The stored forms of a link's token; None for what cannot be one (never looked up)."""
    token = token.strip()
    return _hashes("token", token) if 0 < len(token) <= 64 else None


def code_digest(typed: str) -> tuple[str, ...] | None:
    """The stored forms of a typed code: 8 digits, spaces and dashes ignored; None otherwise."""
    digits = "".join(ch for ch in typed if ch.isdigit())
    return _hashes("code", digits) if len(digits) == 8 else None
