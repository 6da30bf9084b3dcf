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
import contextlib
import itertools
import logging
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from bot.flows import actions, registry
from bot.flows.engine import Answer, Conversation
from bot.flows.replies import Input
from bot.ussd.gateway import CHANNEL_INFO as KEYPAD
from core.db import Database
from core.identity import accounts
from core.identity.accounts import JourneyState
from core.identity.attempts import VerificationAttempt
from core.identity.keys import phone_key
from core.records.citizen import Citizen
from core.records.facility import Facility
from core.seed.demo import DemoResident, demo_residents
from core.staff import service as staff_service
from core.staff.model import StaffRole

COMMANDS = sorted(c for j in registry.journeys() for c in j.commands)
DEEP_LINKS = sorted(j.deep_link for j in registry.journeys() if j.deep_link)
ID_OR_PHONE = re.compile(r"(?<![0-9])(?:[0-9]{12}|(?:\+?84|0)[35789][0-9]{8})(?![0-9])")
_ids = itertools.count(1)


class Recorder(logging.Handler):
    """Every record, as the code wrote it, before the redacting filter could mask anything."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @classmethod
    @contextlib.contextmanager
    def recording(cls) -> Iterator[Recorder]:
        """Every record of the root logger, at every level, while the block runs."""
        recorder, root = cls(), logging.getLogger()
        level = root.level
        root.addHandler(recorder)
        root.setLevel(logging.DEBUG)
        try:
            yield recorder
        finally:
            root.removeHandler(recorder)
            root.setLevel(level)

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
        await self.db.write(accounts.link_citizen, account.id, channel, self.citizen.citizen_id)

    async def forget_attempts(self) -> None:
        await self.db.write(lambda c: c.execute(delete(VerificationAttempt)))

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
    st.text(max_size=500),  # odd, any script, control and format characters included
    st.text(min_size=500, max_size=4096),  # up to what Telegram lets a person send
    st.builds(lambda c, p: f"/{c} {p}", st.sampled_from([*COMMANDS, "start", "nonsense"]),
              st.one_of(_words, _digits)),
    st.builds(lambda prefix, p: f"/start {prefix}{p}", st.sampled_from(DEEP_LINKS), _words),
)
_arg = st.one_of(st.from_regex(r"[a-z_]{0,12}", fullmatch=True),
                 st.from_regex(r"[0-9]{0,13}", fullmatch=True), st.text(max_size=8))
# Button data of every declared kind, with random fields and keys, and plain rubbish.
_option = st.builds(lambda kind, args, key: (":".join([f"{kind[0]}.{kind[1]}", *args]) + f"~{key}")[:64],
                    st.sampled_from([*actions.known(), ("gone", "x"), ("", "")]), st.lists(_arg, max_size=4),
                    st.text(max_size=8)).filter(lambda data: 1 <= len(data.encode()) <= 64)
_phone = st.one_of(st.from_regex(r"\+?84[35789][0-9]{8}", fullmatch=True), _digits)
# What people type most: IDs, birth dates and phone numbers, theirs or anyone's.
_identifiers = st.one_of(st.from_regex(r"0(01|79)[0-5][0-9]{8}", fullmatch=True),
                         st.from_regex(r"0[35789][0-9]{8}", fullmatch=True),
                         st.dates().map(lambda d: d.strftime("%d/%m/%Y")))


@dataclass(frozen=True)
class Press:
    """Press the n-th button the last answer offered, as a person does: how journeys get deep."""

    n: int


Move = Input | Press


def _moves(city: City) -> st.SearchStrategy[list[Move]]:
    """Random input, the buttons on offer, and the demo citizen's own details often enough to get
    past verification, so every step of every journey meets any text, up to 4,096 characters."""
    own = [city.citizen.personal_id, city.citizen.birth_date.display(),
           city.citizen.birth_date.display().replace("/", ""), city.citizen.phone or "", "2580"]
    # Answers some step accepts: a journey goes on past them to the next question.
    valid = ["Nam", "Nữ", "kinh", "Hoàn Kiếm", "Nguyễn Văn An", "01/01/1990", "DN4010123456789",
             "0912 345 678", "an@example.com", "Giáo viên", "Số 12 Hàng Bạc", "4821 3907", "1", "0"]
    typed = st.one_of(_typed, _identifiers, st.sampled_from(own), st.sampled_from(valid))
    phones = st.one_of(_phone, st.just((city.citizen.phone or "").lstrip("+")))
    single = st.one_of(
        typed.map(Input.of_text),
        _option.map(Input.of_option),
        st.builds(lambda phone, own: Input.of_contact(phone, own=own), phones, st.booleans()),
        st.integers(0, 12).map(Press),
        st.integers(0, 12).map(Press),
    )
    return st.lists(single, min_size=1, max_size=14)


def _resolve(move: Move, offered: list[str]) -> Input:
    if isinstance(move, Input):
        return move
    return Input.of_option(offered[move.n % len(offered)]) if offered else Input.of_text("/start")


def _offered(answer: Answer) -> list[str]:
    return [option.action for reply in answer.replies for row in reply.options for option in row]
_who = st.sampled_from(["citizen", "stranger", "receptionist", "volunteer", "keypad-citizen",
                        "keypad-stranger"])


def _drive(city: City, who: str, moves: list[Move]) -> None:
    async def play() -> None:
        offered: list[str] = []
        if who.startswith("keypad"):
            number = city.citizen.phone if who == "keypad-citizen" else f"+8498{next(_ids):07d}"
            external = phone_key(number)
            if who == "keypad-citizen":
                await city.linked("ussd", external)
            signed_in = False
            for move in moves:
                given = replace(_resolve(move, offered), caller=number)
                answer = await city.keypad.handle(external, given, signed_in=signed_in)
                signed_in = signed_in or answer.signed_in
                offered = _offered(answer) or offered  # a tap already handled: the screen stays
                assert answer.replies or answer.notice, given
            return
        if who == "citizen":
            external = f"citizen-{city.citizen.citizen_id}"
            await city.linked("telegram", external)
        elif who == "stranger":
            external = f"stranger-{next(_ids)}"
        else:
            external = city.staff[StaffRole(who)]
        for move in moves:
            given = _resolve(move, offered)
            answer = await city.telegram.handle(external, given)
            offered = _offered(answer)
            assert answer.replies or answer.notice, given
    city.run(play())


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(who=_who, data=st.data())
def test_any_input_from_anyone_is_answered_and_leaves_no_id_phone_or_failure_in_the_logs(
        city: City, who: str, data: st.DataObject) -> None:
    moves = data.draw(_moves(city))
    with Recorder.recording() as recorder:
        _drive(city, who, moves)
    for record, text in recorder.texts():
        assert record.levelno < logging.ERROR, f"{record.name}: {text}"
        assert not ID_OR_PHONE.search(text), f"{record.name}: {text}"


# --- Every question any journey asks, met with any text ----------------------------------------

VALID_ANSWERS = ("Nam", "Nữ", "kinh", "Hoàn Kiếm", "Nguyễn Văn An", "01/01/1990", "DN4010123456789",
                 "0912 345 678", "an@example.com", "Giáo viên", "Số 12 Hàng Bạc", "Con trai", "1")


@dataclass(frozen=True)
class Question:
    """A journey waiting for typed input: who is asked, on which channel, and its stored state."""

    who: str
    state: JourneyState


async def _set_state(city: City, channel: str, external: str, state: JourneyState) -> None:
    await city.db.write(lambda c: c.execute(
        update(accounts.ChannelAccount).where(accounts.ChannelAccount.channel == channel,
                                              accounts.ChannelAccount.external_id == external)
        .values(state=state.to_json())))


def _speaker(city: City, who: str) -> tuple[Conversation, str, str, str | None]:
    """The conversation, channel, account key and caller number of one kind of account."""
    if who == "keypad-citizen":
        return city.keypad, "ussd", phone_key(city.citizen.phone or ""), city.citizen.phone
    if who == "keypad-stranger":  # the citizen's own number, not yet signed up on it
        return city.keypad, "ussd", "keypad-stranger", city.citizen.phone
    if who == "citizen":
        return city.telegram, "telegram", f"citizen-{city.citizen.citizen_id}", None
    if who == "stranger":
        return city.telegram, "telegram", "explorer", None
    return city.telegram, "telegram", city.staff[StaffRole(who)], None


async def _explore(city: City, who: str, depth: int = 6) -> list[Question]:
    """Every step that waits for text, reached by commands, the buttons on offer and valid answers."""
    conversation, channel, external, caller = _speaker(city, who)
    starts = [Input.of_text(f"/{name}") for name in [*COMMANDS, "start"]]
    own = (city.citizen.personal_id, city.citizen.birth_date.display(),
           city.citizen.birth_date.display().replace("/", ""), "2580")
    found: dict[tuple[str | None, str | None], JourneyState] = {}
    menus: set[tuple[str, ...]] = set()  # button sets already followed from a journey-less state
    frontier: list[tuple[JourneyState, list[Input]]] = [(JourneyState(), starts)]
    for _ in range(depth):
        following: list[tuple[JourneyState, list[Input]]] = []
        for state, moves in frontier:
            for move in moves:
                if who.endswith("citizen"):  # a pressed "log out" must not end the exploration
                    await city.linked(channel, external)
                await city.forget_attempts()  # nor may wrong answers tried on the way lock it
                await _set_state(city, channel, external, state)
                answer = await conversation.handle(external, replace(move, caller=caller))
                now = (await city.db.read(accounts.find_account, channel, external)).state
                actions = tuple(_offered(answer))
                if now.flow is None:
                    shown = tuple(data.split("~")[0] for data in actions)  # the buttons, not their keys
                    if actions and shown not in menus:
                        menus.add(shown)
                        following.append((now, [Input.of_option(a) for a in actions]))
                    continue
                if (now.flow, now.step) in found:
                    continue
                found[(now.flow, now.step)] = now
                following.append((now, [Input.of_option(a) for a in actions]
                                  + [Input.of_text(text) for text in (*VALID_ANSWERS, *own)]))
        frontier = following
    return [Question(who, state) for state in found.values()]


@pytest.fixture(scope="module")
def questions(city: City) -> list[Question]:
    asked = [q for who in ("citizen", "keypad-citizen", "stranger", "keypad-stranger", "receptionist",
                           "volunteer") for q in city.run(_explore(city, who))]
    steps = {(q.state.flow, q.state.step) for q in asked}
    # The journeys that ask for typed answers must all be among them, or the exploration is broken.
    assert {("verify", "dob"), ("verify", "contact"), ("pin", "repeat"), ("correct", "reason"),
            ("assist", "dob"), ("checkin", "code"), ("consent", "facility")} <= steps
    return asked


def _answer(city: City, question: Question, typed: str) -> Recorder:
    """Puts the journey back at its question, types the text, and records every log line."""
    conversation, channel, external, caller = _speaker(city, question.who)

    async def ask() -> None:
        if question.who.endswith("citizen"):
            await city.linked(channel, external)
        await _set_state(city, channel, external, question.state)
        answer = await conversation.handle(external, replace(Input.of_text(typed), caller=caller))
        assert answer.replies

    with Recorder.recording() as recorder:
        city.run(ask())
    return recorder


def _clean(recorder: Recorder, question: Question) -> None:
    for record, text in recorder.texts():
        assert record.levelno < logging.ERROR, f"{question.state}: {record.name}: {text}"
        assert not ID_OR_PHONE.search(text), f"{record.name}: {text}"


# What people really send where a question waits: long pastes, emoji, scripts, controls, markup.
NASTY = ("x" * 4096, "Lý do " * 700, "a" * 501, "😀" * 300, "\u202eDân tộc\u202c", "\x00\x07\x1b",
         "   ", "<b>bold</b> & <script>", "' OR 1=1 --", "١٢٣٤٥٦٧٨٩٠١٢", "9" * 40, "/", "/start ci_",
         "0912345678", "001090001234", "31/02/2024", "99/99/9999", "00000000", "Ⅻ", "ｆｕｌｌｗｉｄｔｈ")


@pytest.mark.parametrize("typed", NASTY, ids=range(len(NASTY)))
def test_every_question_any_journey_asks_answers_what_people_really_type(
        city: City, questions: list[Question], typed: str) -> None:
    for question in questions:
        _clean(_answer(city, question, typed), question)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data())
def test_every_question_any_journey_asks_answers_any_text_without_failing(
        city: City, questions: list[Question], data: st.DataObject) -> None:
    question = data.draw(st.sampled_from(questions))
    typed = data.draw(st.one_of(_typed, st.text(min_size=500, max_size=4096), _identifiers))
    _clean(_answer(city, question, typed), question)
