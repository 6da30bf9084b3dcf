"""Whatever anyone sends, every journey answers, and the logs hold no ID, phone or failure.

Hypothesis drives the real engine (`Conversation.handle`, the same call the Telegram and
USSD adapters make) on a seeded SQLite file, from four kinds of account: a linked
citizen, an unlinked stranger, a receptionist and a volunteer, on Telegram and on a
keypad phone. Inputs are random text (typed commands and deep links included), random
button data aimed at every journey, and shared contacts, own or not. Every log record
is read before any masking: nothing may be a failure, and nothing may carry a 12-digit
ID or a mobile number, whatever was typed.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from bot.flows.engine import COMMANDS, DEEP_LINKS, FLOWS, Conversation
from bot.flows.replies import Input
from bot.ussd.gateway import CHANNEL_INFO as KEYPAD
from core.db import Database
from core.identity import accounts
from core.identity.keys import phone_key
from core.records.citizen import Citizen
from core.records.facility import Facility
from core.seed.demo import DemoResident, demo_residents
from core.staff import service as staff_service
from core.staff.model import StaffRole

ID_OR_PHONE = re.compile(r"(?<![0-9])(?:[0-9]{12}|(?:\+?84|0)[35789][0-9]{8})(?![0-9])")
_ids = itertools.count(1)


class Recorder(logging.Handler):
    """Every record, as the code wrote it, before the redacting filter could mask anything."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def texts(self) -> Iterator[tuple[logging.LogRecord, str]]:
        formatter = logging.Formatter()
        for record in self.records:
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + formatter.formatException(record.exc_info)
            yield record, text


class City:
    """The seeded city, its four kinds of account, and one event loop for every example."""

    def __init__(self, path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.db = Database(f"sqlite+aiosqlite:///{path}")
        self.telegram = Conversation(self.db, "telegram")
        self.keypad = Conversation(self.db, KEYPAD)
        residents = self.run(self.db.read(demo_residents))
        self.citizen: DemoResident = next(r for r in residents if r.kind == "with_visits" and r.phone)
        self.staff = {role: self.run(self._staff(role, ward)) for role, ward in (
            (StaffRole.RECEPTIONIST, None), (StaffRole.VOLUNTEER, self.citizen_ward()))}

    def run(self, coroutine):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coroutine)

    def citizen_ward(self) -> str:
        async def ward() -> str:
            async with self.db.sessions() as session:
                return (await session.get(Citizen, self.citizen.citizen_id)).ward_code or "00070"
        return self.run(ward())

    async def _staff(self, role: StaffRole, ward: str | None) -> str:
        async with self.db.sessions() as session:
            facility = await session.scalar(select(Facility.code).order_by(Facility.code).limit(1))
        external = f"staff-{role.value}"
        account = await self.db.write(accounts.open_account, "telegram", external)
        desk = facility if role is StaffRole.RECEPTIONIST else None
        invite = await staff_service.invite(self.db, role, ward_code=ward, facility_code=desk)
        await staff_service.accept(self.db, invite.code, account.id)
        return external

    async def linked(self, channel: str, external_id: str) -> None:
        """The citizen's account, linked again before each example (a fuzzed /logout unlinks it)."""
        account = await self.db.write(accounts.open_account, channel, external_id)
        await self.db.write(lambda c: c.execute(update(accounts.ChannelAccount)
                                                .where(accounts.ChannelAccount.id == account.id)
                                                .values(citizen_id=self.citizen.citizen_id)))

    def close(self) -> None:
        self.run(self.db.dispose())
        self.loop.close()


@pytest.fixture(scope="module")
def city(seeded_sqlite: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    path = tmp_path_factory.mktemp("fuzz") / "ehr.sqlite3"
    shutil.copyfile(seeded_sqlite, path)
    opened = City(path)
    yield opened
    opened.close()


# --- What anyone might send -----------------------------------------------------------------

_words = st.text(min_size=0, max_size=40)
_digits = st.from_regex(r"[0-9 ./-]{0,16}", fullmatch=True)
_typed = st.one_of(
    _words,
    _digits,
    st.text(max_size=500),  # long, odd, any script, control and format characters included
    st.builds(lambda c, p: f"/{c} {p}", st.sampled_from([*COMMANDS, "start", "cancel", "nonsense"]),
              st.one_of(_words, _digits)),
    st.builds(lambda prefix, p: f"/start {prefix}{p}", st.sampled_from(list(DEEP_LINKS)), _words),
)
_arg = st.one_of(st.from_regex(r"[a-z_]{0,12}", fullmatch=True),
                 st.from_regex(r"[0-9]{0,13}", fullmatch=True), st.text(max_size=8))
_option = st.builds(lambda flow, args: ":".join([flow, *args])[:64] or flow,
                    st.sampled_from([*FLOWS, "gone", ""]), st.lists(_arg, max_size=4)).filter(
    lambda action: 1 <= len(action.encode()) <= 64)
_phone = st.one_of(st.from_regex(r"\+?84[35789][0-9]{8}", fullmatch=True), _digits)
# What people type most: IDs, birth dates and phone numbers, theirs or anyone's.
_identifiers = st.one_of(st.from_regex(r"0(01|79)[0-5][0-9]{8}", fullmatch=True),
                         st.from_regex(r"0[35789][0-9]{8}", fullmatch=True),
                         st.dates().map(lambda d: d.strftime("%d/%m/%Y")))


def _inputs(city: City) -> st.SearchStrategy[list[Input]]:
    """Random input, with the demo citizen's own details often enough to get past verification."""
    own = [city.citizen.personal_id, city.citizen.birth_date.display(),
           city.citizen.birth_date.display().replace("/", ""), city.citizen.phone or "", "2580"]
    typed = st.one_of(_typed, _identifiers, st.sampled_from(own))
    phones = st.one_of(_phone, st.just((city.citizen.phone or "").lstrip("+")))
    single = st.one_of(
        typed.map(Input.of_text),
        _option.map(Input.of_option),
        st.builds(lambda phone, own: Input.of_contact(phone, own=own), phones, st.booleans()),
    )
    return st.lists(single, min_size=1, max_size=10)
_who = st.sampled_from(["citizen", "stranger", "receptionist", "volunteer", "keypad-citizen",
                        "keypad-stranger"])


def _drive(city: City, who: str, inputs: list[Input]) -> None:
    async def play() -> None:
        if who.startswith("keypad"):
            number = city.citizen.phone if who == "keypad-citizen" else f"+8498{next(_ids):07d}"
            external = phone_key(number)
            if who == "keypad-citizen":
                await city.linked("ussd", external)
            signed_in = False
            for given in inputs:
                answer = await city.keypad.handle(external, Input(given.kind, given.text, given.command,
                                                                 given.payload, given.option,
                                                                 given.contact_phone, caller=number),
                                                  signed_in=signed_in)
                signed_in = signed_in or answer.signed_in
                assert answer.replies, given
            return
        if who == "citizen":
            external = f"citizen-{city.citizen.citizen_id}"
            await city.linked("telegram", external)
        elif who == "stranger":
            external = f"stranger-{next(_ids)}"
        else:
            external = city.staff[StaffRole(who)]
        for given in inputs:
            answer = await city.telegram.handle(external, given)
            assert answer.replies or answer.notice, given
    city.run(play())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(who=_who, data=st.data())
def test_any_input_from_anyone_is_answered_and_leaves_no_id_phone_or_failure_in_the_logs(
        city: City, who: str, data: st.DataObject) -> None:
    inputs = data.draw(_inputs(city))
    recorder = Recorder()
    root = logging.getLogger()
    level = root.level
    root.addHandler(recorder)
    root.setLevel(logging.DEBUG)
    try:
        _drive(city, who, inputs)
    finally:
        root.removeHandler(recorder)
        root.setLevel(level)
    for record, text in recorder.texts():
        assert record.levelno < logging.ERROR, f"{record.name}: {text}"
        assert not ID_OR_PHONE.search(text), f"{record.name}: {text}"
