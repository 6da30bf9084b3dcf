"""Channel accounts: one row per person per channel, holding the link, language and journey state."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Connection,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from core import families, notices, tallies
from core.db import Database, insert_if_absent
from core.i18n import now_utc
from core.records import people
from core.records.base import Base, BigIntPK, UTCDateTime


class ChannelAccount(Base):
    """A person's account on one channel (`telegram`: the Telegram user id)."""

    __tablename__ = "channel_accounts"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        # One citizen, one linked account per channel: a new verification moves the link.
        Index("uq_channel_accounts_citizen", "channel", "citizen_id", unique=True,
              sqlite_where=text("citizen_id IS NOT NULL"),
              postgresql_where=text("citizen_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    citizen_id: Mapped[int | None] = mapped_column(
        BigIntPK, ForeignKey("citizens.id", ondelete="SET NULL"), nullable=True)
    linked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    locale: Mapped[str | None] = mapped_column(String(8))
    # The journey in progress, as JSON; `state_version` guards against two workers
    # writing over each other (optimistic concurrency).
    state: Mapped[str | None] = mapped_column(Text)
    state_version: Mapped[int] = mapped_column(default=0)
    # A channel whose sender is only a phone number (USSD) asks for a PIN as well: its slow
    # hash (core.identity.pins), set together with the link and cleared with it.
    pin_hash: Mapped[str | None] = mapped_column(String(160))
    # The buttons lately pressed (their keys and when, as JSON): a second tap on one is not
    # applied twice, whichever worker gets it (bot.flows.engine).
    recent_taps: Mapped[str | None] = mapped_column(Text)
    # The message that shows the account's check-in QR, as its channel names it: when a new code
    # replaces that one, the message says so (bot.flows.qr). Kept here, not in a worker's memory.
    qr_message_id: Mapped[str | None] = mapped_column(String(64))
    # The dependent's book this account has open (core.families); none: its own. The right is
    # checked again on every input, so a withdrawal or an 18th birthday ends it at the next one.
    # No foreign key (migration 0016 says why): a citizen gone is a right gone.
    acting_for: Mapped[int | None] = mapped_column(BigIntPK, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now_utc)


@dataclass(frozen=True)
class JourneyState:
    """Where a person is in a journey: the flow, its step, and what it has gathered."""

    flow: str | None = None
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str | None:
        if self.flow is None:
            return None
        return json.dumps({"flow": self.flow, "step": self.step, "data": self.data},
                          separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, raw: str | None) -> JourneyState:
        if not raw:
            return cls()
        try:
            loaded = json.loads(raw)
            return cls(loaded.get("flow"), loaded.get("step"), dict(loaded.get("data") or {}))
        except (ValueError, AttributeError, TypeError):
            return cls()  # an unreadable state is a fresh start, never a crash


@dataclass(frozen=True)
class Account:
    """What a conversation needs to know about the account it serves."""

    id: int
    channel: str
    external_id: str
    citizen_id: int | None
    locale: str | None
    state: JourneyState
    state_version: int
    citizen_status: str | None = None
    taps: dict[str, float] = field(default_factory=dict)  # button key -> when pressed (epoch seconds)
    qr_message: str | None = None  # the message that shows the account's check-in QR
    # The dependent's book open on this account (core.families), and whether the account's citizen
    # is named as anyone's guardian or proxy at all (then the menu lists the household).
    acting_for: int | None = None
    has_family: bool = False

    @property
    def linked(self) -> bool:
        return self.citizen_id is not None


_ACCOUNTS = ChannelAccount.__table__
_LOAD = (
    select(_ACCOUNTS.c.id, _ACCOUNTS.c.channel, _ACCOUNTS.c.external_id, _ACCOUNTS.c.citizen_id,
           _ACCOUNTS.c.locale, _ACCOUNTS.c.state, _ACCOUNTS.c.state_version, _ACCOUNTS.c.recent_taps,
           _ACCOUNTS.c.qr_message_id, people.status_of(_ACCOUNTS.c.citizen_id).label("citizen_status"),
           _ACCOUNTS.c.acting_for,
           families.may_act_for_someone(_ACCOUNTS.c.citizen_id).label("has_family"))
    .where(_ACCOUNTS.c.channel == bindparam("channel"),
           _ACCOUNTS.c.external_id == bindparam("external_id"))
)
_SAVE = (
    update(_ACCOUNTS)
    .where(_ACCOUNTS.c.id == bindparam("account_id"),
           _ACCOUNTS.c.state_version == bindparam("expected"))
    .values(state=bindparam("state"), recent_taps=bindparam("taps"),
            state_version=_ACCOUNTS.c.state_version + 1, updated_at=bindparam("now"))
)


def _taps(raw: str | None) -> dict[str, float]:
    try:
        loaded = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return {str(k): float(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


def _account(row: Any) -> Account:
    status = row.citizen_status
    return Account(row.id, row.channel, row.external_id, row.citizen_id, row.locale,
                   JourneyState.from_json(row.state), row.state_version,
                   str(status) if status is not None else None, _taps(row.recent_taps),
                   row.qr_message_id, row.acting_for, bool(row.has_family))


def find_account(connection: Connection, channel: str, external_id: str) -> Account | None:
    row = connection.execute(_LOAD, {"channel": channel, "external_id": external_id}).one_or_none()
    return _account(row) if row is not None else None


def account_by_id(connection: Connection, account_id: int) -> Account | None:
    """An account by its number: a staff member's, for work done from the web console."""
    found = connection.execute(select(_ACCOUNTS.c.channel, _ACCOUNTS.c.external_id)
                               .where(_ACCOUNTS.c.id == account_id)).one_or_none()
    return find_account(connection, found.channel, found.external_id) if found is not None else None


def open_account(connection: Connection, channel: str, external_id: str) -> Account:
    """The account, created on first contact (in a write transaction).

    A new chat's first inputs may land on two workers at once: both insert, one row is kept
    (ON CONFLICT DO NOTHING), and both read that one account."""
    found = find_account(connection, channel, external_id)
    if found is not None:
        return found
    now = now_utc()
    insert_if_absent(connection, _ACCOUNTS, {
        "channel": channel, "external_id": external_id, "state_version": 0,
        "created_at": now, "updated_at": now}, ("channel", "external_id"))
    account = find_account(connection, channel, external_id)
    assert account is not None
    return account


def open_keyed_account(connection: Connection, channel: str, keys: Sequence[str]) -> Account:
    """An account known by a keyed fingerprint (a USSD caller's number), created on first contact.

    `keys` holds the fingerprint under the current server key first, then under the previous
    one during a key rotation: an account found under the previous key takes the current one,
    so its link and PIN survive the rotation.
    """
    current, *previous = keys
    if previous and find_account(connection, channel, current) is None:
        connection.execute(update(_ACCOUNTS).where(_ACCOUNTS.c.channel == channel,
                                                   _ACCOUNTS.c.external_id.in_(previous))
                           .values(external_id=current, updated_at=now_utc()))
    return open_account(connection, channel, current)


def save_state(connection: Connection, account: Account, state: JourneyState,
               taps: dict[str, float] | None = None) -> bool:
    """Stores the next state (and the buttons lately pressed); False when another worker moved the
    conversation first."""
    kept = account.taps if taps is None else taps
    result = connection.execute(_SAVE, {"account_id": account.id, "expected": account.state_version,
                                        "state": state.to_json(), "now": now_utc(),
                                        "taps": json.dumps(kept, separators=(",", ":")) if kept else None})
    return result.rowcount == 1


def remember_qr_message(connection: Connection, channel: str, external_id: str,
                        message_id: str) -> None:
    """The message that shows the account's check-in QR from now on."""
    connection.execute(update(_ACCOUNTS).where(_ACCOUNTS.c.channel == channel,
                                               _ACCOUNTS.c.external_id == external_id)
                       .values(qr_message_id=message_id, updated_at=now_utc()))


def set_locale(connection: Connection, account_id: int, locale: str) -> None:
    connection.execute(update(_ACCOUNTS).where(_ACCOUNTS.c.id == account_id)
                       .values(locale=locale, updated_at=now_utc()))


async def choose_language(db: Database, account_id: int, locale: str) -> None:
    """The person's language, remembered for every later conversation."""
    await db.write(set_locale, account_id, locale)


def link_citizen(connection: Connection, account_id: int, channel: str, citizen_id: int,
                 pin_hash: str | None = None) -> None:
    """Links the account; another account of the same citizen on this channel is unlinked, and told:
    if it was the owner's, they learn at once that someone else now holds their book."""
    now = now_utc()
    before = connection.execute(select(_ACCOUNTS.c.citizen_id).where(_ACCOUNTS.c.id == account_id)).scalar()
    earlier = connection.execute(
        update(_ACCOUNTS)
        .where(_ACCOUNTS.c.channel == channel, _ACCOUNTS.c.citizen_id == citizen_id,
               _ACCOUNTS.c.id != account_id)
        .values(citizen_id=None, linked_at=None, pin_hash=None, updated_at=now)
        .returning(_ACCOUNTS.c.id)).scalars().all()
    for moved_from in earlier:
        notices.enqueue(connection, citizen_id, "link_moved", account_id=moved_from, at=now.isoformat())
    connection.execute(update(_ACCOUNTS).where(_ACCOUNTS.c.id == account_id)
                       .values(citizen_id=citizen_id, linked_at=now, pin_hash=pin_hash, acting_for=None,
                               updated_at=now))
    notices.wake(connection, citizen_id)  # news that waited for the citizen's next link
    if not earlier and before != citizen_id:  # a link moved between accounts is no new activation
        tallies.count_event(connection, tallies.activation(channel), citizen_id, now)


def unlink_citizen(connection: Connection, account_id: int) -> None:
    connection.execute(update(_ACCOUNTS).where(_ACCOUNTS.c.id == account_id)
                       .values(citizen_id=None, linked_at=None, pin_hash=None, acting_for=None,
                               updated_at=now_utc()))


def unlink_everywhere(connection: Connection, citizen_ids: Sequence[int]) -> list[int]:
    """Unlinks every account of these citizens on every channel, as logging out does (PIN cleared,
    no book open); the accounts' ids. For deaths (core.volunteering.deaths), many in one statement."""
    return list(connection.execute(
        update(_ACCOUNTS).where(_ACCOUNTS.c.citizen_id.in_(citizen_ids))
        .values(citizen_id=None, linked_at=None, pin_hash=None, acting_for=None, updated_at=now_utc())
        .returning(_ACCOUNTS.c.id)).scalars())


def open_book_of(connection: Connection, account_id: int, citizen_id: int | None) -> None:
    """The book the account's journeys act on from its next input: a dependent's (after the caller
    checked the right, core.families), or its own (None)."""
    connection.execute(update(_ACCOUNTS).where(_ACCOUNTS.c.id == account_id)
                       .values(acting_for=citizen_id, updated_at=now_utc()))


def linked_accounts(connection: Connection, channel: str, citizen_id: int) -> list[tuple[str, str | None]]:
    """The citizen's linked account on a channel (external id, language), for notices."""
    rows = connection.execute(select(_ACCOUNTS.c.external_id, _ACCOUNTS.c.locale).where(
        _ACCOUNTS.c.channel == channel, _ACCOUNTS.c.citizen_id == citizen_id))
    return [(row.external_id, row.locale) for row in rows]
