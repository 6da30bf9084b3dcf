"""Journeys tested as journeys: cases kept as data, run straight on the engine.

Each file `tests/journeys/<journey>.json` holds the cases of one journey, the way RapidPro's
goflow keeps `testdata/*.json` beside each action: who acts (a linked citizen, a stranger, a
receptionist, a volunteer, a citizen on a keypad phone), what they send, type, press or share,
and what must follow: words said, buttons offered, the journey's next state, changes in the
record. A step may say `"as"` to speak from another account of the same case (a volunteer enters
what the citizen then confirms). Every case runs on its own copy of a seeded SQLite file,
through `Conversation.handle` (the call every channel makes), without HTTP;
the end-to-end tests keep what only they catch.

A step `{"invite": "receptionist"}` opens the link an operator made for that role; a step
`{"press": "…", "on_step": 2}` presses a button of an earlier message (the answer to step 2), and
`"later": 60` takes the step that many seconds after the taps before it (not a quick double tap);
`{"press_at": 0}` presses a message's first button, whose label the case cannot know (a visit's
date and place). `"keeps_pressed": true` expects every reply to be a message of its own, the
message whose button was pressed left as it was (an open card stays in view).
The answer to step N is drawn as the message numbered N: `"retires_step": 1` expects a reply
that replaces a check-in code to change the message of step 1.
Placeholders in texts: $ID, $BIRTH, $BIRTH8 (ddmmyyyy), $PHONE, $NAME of the case's resident, and
$SHORT, the short name a volunteer sees (`Trần T. B.`), and $YEAR, the year of birth; $CODE, the
8 digits of the check-in code last shown in the case (`4821 3907`, as the person reads it out);
the demo household's $PARENTNAME, $CHILDNAME, $ELDERNAME (full names), $CHILD, $ELDER (the name
the family calls them by) and $CHILDAGE, $ELDERAGE.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from bot.flows import registry
from bot.flows.actions import Open, encode
from bot.flows.engine import Answer, Conversation
from bot.flows.replies import Input
from bot.ussd.gateway import CHANNEL_INFO as KEYPAD
from core.checkin.tokens import CheckinToken
from core.consent.grants import consent_of
from core.consent.records import AccessEvent
from core.corrections.model import CorrectionRequest
from core.db import Database
from core.i18n import today_hanoi, translator
from core.identity import accounts
from core.identity.keys import phone_key
from core.identity.pins import hash_pin
from core.records.citizen import Citizen
from core.records.facility import Facility
from core.seed.demo import DemoResident, demo_residents
from core.staff import service as staff_service
from core.staff.model import StaffRole
from core.volunteering.model import ReportStatus, WardChangeReport
from core.volunteering.pending import pending_values
from core.volunteering.residents import short_name

CASES = Path(__file__).with_name("journeys")
TELEGRAM = "https://t.me/HanoiHealthBookBot?start="
PIN = "2580"
HOUSEHOLD = ("parent", "child", "elder")  # also accounts a step may speak from (`"as": "elder"`)
DURATIONS: list[float] = []  # seconds per case, printed at the end of the run (tests/conftest.py)


@dataclass
class Actor:
    """The account a case speaks from, on its channel."""

    conversation: Conversation
    channel: str
    external_id: str
    caller: str | None = None
    signed_in: bool = True  # a PIN channel's session starts signed out
    last: Answer | None = None
    answers: list[Answer] = field(default_factory=list)
    by_step: dict[int, Answer] = field(default_factory=dict)  # the answer to each step of the case


def english_commands_named(text: str) -> list[str]:
    """The English commands a Vietnamese text names where people type a Vietnamese alias
    (`/update` for `/capnhat`): a Vietnamese reader is shown the command they would type."""
    aliased = {j.commands[0] for j in registry.journeys() if len(j.commands) > 1}
    return [c for c in re.findall(r"(?<![\w/])/([a-z]+)\b", text) if c in aliased]


def load(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [{**case, "journey": data["journey"]} for case in data["cases"]]


def all_cases() -> list[dict[str, Any]]:
    return [case for path in sorted(CASES.glob("*.json")) for case in load(path)]


class CaseRun:
    def __init__(self, seeded: Path, work: Path) -> None:
        path = work / "ehr.sqlite3"
        shutil.copyfile(seeded, path)
        self.db = Database(f"sqlite+aiosqlite:///{path}")
        self.telegram = Conversation(self.db, replace(Conversation(self.db, "telegram").info,
                                                      deep_link_base=TELEGRAM))
        self.keypad = Conversation(self.db, KEYPAD)
        self.code = ""  # the check-in code last shown: $CODE
        self.household: dict[str, DemoResident] = {}  # the demo household: parent, child, elder

    async def run(self, case: dict[str, Any]) -> None:
        started = time.perf_counter()
        try:
            residents = await self.db.read(demo_residents)
            self.household = {r.kind: r for r in residents if r.kind in HOUSEHOLD}
            resident = next(r for r in residents if r.kind == case.get("resident", "with_visits"))
            actors: dict[str, Actor] = {}
            for number, step in enumerate(case["steps"], start=1):
                where = f"{case['journey']}: {case['name']}, step {number}"
                kind = step.get("as", case.get("as", "citizen"))  # a step may speak from another account
                if kind not in actors:
                    actors[kind] = await self._actor(kind, resident)
                await self._step(actors[kind], step, resident, where, number)
        finally:
            await self.db.dispose()
            DURATIONS.append(time.perf_counter() - started)

    # --- Who acts ---------------------------------------------------------------------------------

    async def _actor(self, kind: str, resident: DemoResident) -> Actor:
        if kind in HOUSEHOLD:  # a member of the demo household, verified on their own phone
            actor = Actor(self.telegram, "telegram", f"case-{kind}")
            account = await self.db.write(accounts.open_account, "telegram", actor.external_id)
            await self.db.write(accounts.link_citizen, account.id, "telegram",
                                self.household[kind].citizen_id)
            return actor
        if kind in ("citizen", "stranger"):
            actor = Actor(self.telegram, "telegram", f"case-{kind}")
        elif kind in ("keypad-citizen", "keypad-stranger"):
            number = resident.phone or "+84912000111"
            actor = Actor(self.keypad, "ussd", phone_key(number), number, signed_in=False)
        else:
            actor = Actor(self.telegram, "telegram", f"case-{kind}")
            account = await self.db.write(accounts.open_account, "telegram", actor.external_id)
            await staff_service.accept(self.db, await self._invite(kind, resident), account.id)
            return actor
        if kind in ("citizen", "keypad-citizen"):  # a keypad citizen's PIN is 2580
            account = await self.db.write(accounts.open_account, actor.channel, actor.external_id)
            pin = hash_pin(PIN) if kind == "keypad-citizen" else None
            await self.db.write(accounts.link_citizen, account.id, actor.channel, resident.citizen_id, pin)
        return actor

    async def _invite(self, kind: str, resident: DemoResident) -> str:
        """An operator's invite for a role: a volunteer of the resident's ward, a receptionist of a clinic."""
        role = StaffRole(kind)
        async with self.db.sessions() as session:
            ward = await session.scalar(select(Citizen.ward_code).where(Citizen.id == resident.citizen_id))
            facility = await session.scalar(select(Facility.code).order_by(Facility.code).limit(1))
        invite = await staff_service.invite(
            self.db, role, ward_code=ward if role in (StaffRole.VOLUNTEER, StaffRole.STATION) else None,
            facility_code=facility if role is StaffRole.RECEPTIONIST else None, name="Case")
        return invite.code

    # --- One step -----------------------------------------------------------------------------------

    async def _step(self, actor: Actor, step: dict[str, Any], resident: DemoResident, where: str,
                    number: int) -> None:
        given = await self._input(actor, step, resident, where)
        if "later" in step:
            await self._age_taps(actor, float(step["later"]))
        answer = await self._handle(actor, given)
        if step.get("twice"):  # a quick double tap: the second changes nothing and says so once
            again = await self._handle(actor, given)
            # Said in the language the account has now (a double tap on "English" answers in English).
            done = translator(again.locale).gettext("Already done.")
            assert again.replies == () and again.notice == done, (where, again)
            assert again.locale != "vi" or done == "Đã xử lý rồi.", where
        actor.last = actor.by_step[number] = answer
        for reply in answer.replies:  # a check-in code shown (its picture), read out as $CODE
            spoken = re.search(r"\b\d{4} \d{4}\b", reply.text) if reply.image else None
            self.code = spoken.group(0) if spoken else self.code
        if answer.locale == "vi":  # whatever a case expects, no English command in Vietnamese
            said = "\n".join(f"{r.title or ''}\n{r.text}" for r in answer.replies)
            assert english_commands_named(said) == [], f"{where}: {said}"
        if any(reply.replaces_code for reply in answer.replies):  # a channel that shows it tells
            await actor.conversation.showing_code(actor.external_id, str(number))  # its message id
        self._expect(answer, step.get("expect", {}), resident, where)
        await self._expect_record(actor, step.get("expect", {}), resident, where)

    async def _age_taps(self, actor: Actor, seconds: float) -> None:
        """Time passes: the buttons the account pressed were pressed `seconds` earlier."""
        table = accounts.ChannelAccount.__table__
        where = (table.c.channel == actor.channel) & (table.c.external_id == actor.external_id)
        async with self.db.transaction() as session:
            raw = await session.scalar(select(table.c.recent_taps).where(where))
            taps = {key: when - seconds for key, when in json.loads(raw or "{}").items()}
            await session.execute(update(table).where(where).values(recent_taps=json.dumps(taps)))

    async def _handle(self, actor: Actor, given: Input) -> Answer:
        answer = await actor.conversation.handle(actor.external_id, replace(given, caller=actor.caller),
                                                 signed_in=actor.signed_in)
        actor.signed_in = actor.signed_in or answer.signed_in
        actor.answers.append(answer)
        return answer

    def _fill(self, text: str, resident: DemoResident) -> str:
        born = resident.birth_date.display()
        for kind, member in self.household.items():  # $CHILD, $CHILDNAME, $CHILDAGE, $ELDER…
            key = kind.upper()
            text = (text.replace(f"${key}NAME", member.full_name)
                    .replace(f"${key}AGE", str(member.birth_date.age_on(today_hanoi())))
                    .replace(f"${key}", member.full_name.split()[-1]))
        return (text.replace("$CODE", self.code).replace("$ID", resident.personal_id)
                .replace("$BIRTH8", born.replace("/", ""))
                .replace("$BIRTH", born).replace("$PHONE", (resident.phone or "").lstrip("+"))
                .replace("$NAME", resident.full_name)
                .replace("$SHORT", short_name(resident.full_name))
                .replace("$YEAR", str(resident.birth_date.year)))

    async def _input(self, actor: Actor, step: dict[str, Any], resident: DemoResident, where: str) -> Input:
        if "invite" in step:  # the link an operator gave for this role, opened
            return Input.of_text(f"/start staff_{await self._invite(step['invite'], resident)}")
        if "send" in step:
            return Input.of_text(self._fill(step["send"], resident))
        if "contact" in step:
            return Input.of_contact(self._fill(step["contact"], resident), own=step.get("own", True))
        if "open" in step:  # a journey's button from outside the case (a menu, a notice)
            return Input.of_option(encode(Open(step["open"])))
        # A button of the last message, or of an earlier one still on the screen (`"on_step": 2`).
        shown = actor.by_step.get(step["on_step"]) if "on_step" in step else actor.last
        offered = [o for reply in (shown.replies if shown else ()) for row in reply.options
                   for o in row]
        if "press_at" in step:
            assert len(offered) > step["press_at"], f"{where}: no button {step['press_at']}"
            return Input.of_option(str(offered[step["press_at"]].action))
        label = self._fill(step["press"], resident)
        found = next((o for o in offered if o.label == label), None)
        assert found is not None, f"{where}: no button {label!r} among {[o.label for o in offered]}"
        return Input.of_option(str(found.action))

    def _expect(self, answer: Answer, expect: dict[str, Any], resident: DemoResident, where: str) -> None:
        said = "\n".join(f"{r.title or ''}\n{r.text}" for r in answer.replies)
        labels = [o.label for r in answer.replies for row in r.options for o in row]
        for words in expect.get("says", []):
            assert self._fill(words, resident) in said, f"{where}: {words!r} not in:\n{said}"
        for words in expect.get("not_says", []):
            assert self._fill(words, resident) not in said, f"{where}: {words!r} said:\n{said}"
        for label in expect.get("buttons", []):
            label = self._fill(label, resident)
            assert label in labels, f"{where}: no button {label!r} among {labels}"
        for label in expect.get("no_buttons", []):
            label = self._fill(label, resident)
            assert label not in labels, f"{where}: button {label!r} offered"
        if expect.get("keeps_pressed"):
            kept = all(reply.new_message for reply in answer.replies)
            assert kept, f"{where}: replaces the message"
        if "notice" in expect:
            assert answer.notice == expect["notice"], f"{where}: notice {answer.notice!r}"
        if "retires" in expect:  # what the message of the code a reply replaces says from now on
            retired = next((r.replaces_code for r in answer.replies if r.replaces_code), None)
            assert retired == expect["retires"], f"{where}: retired {retired!r}"
        if "retires_step" in expect:  # the message it changes: the answer to that step
            shown = answer.code_message
            wanted = expect["retires_step"]
            assert shown == (None if wanted is None else str(wanted)), f"{where}: changes {shown!r}"

    async def _expect_record(self, actor: Actor, expect: dict[str, Any], resident: DemoResident,
                             where: str) -> None:
        if "state" in expect:
            account = await self.db.read(accounts.find_account, actor.channel, actor.external_id)
            state = account.state
            wanted = expect["state"]
            got = None if state.flow is None else {"flow": state.flow, "step": state.step}
            if wanted is not None:
                got = {k: v for k, v in (got or {}).items() if k in wanted}
            assert got == wanted, f"{where}: state {got}, wanted {wanted}"
        record = expect.get("record", {})
        if not record:
            return
        async with self.db.sessions() as session:
            linked = await session.scalar(select(accounts.ChannelAccount.citizen_id).where(
                accounts.ChannelAccount.channel == actor.channel,
                accounts.ChannelAccount.external_id == actor.external_id))
        facts: dict[str, dict[str, Any]] = {}
        for name, wanted in record.items():
            # `child:reads_logged`: a fact of the household's child (or elder), not of the resident.
            kind, _, fact = name.rpartition(":")
            whose = self.household[kind].citizen_id if kind else resident.citizen_id
            if whose not in facts:
                facts[whose] = await self._facts(whose)
            known = {"linked": linked is not None} | facts[whose]
            got = known[fact] if fact in known else \
                _plain(getattr(known["_citizen"], fact.removeprefix("citizen.")))
            assert got == wanted, f"{where}: {name} is {got!r}, wanted {wanted!r}"

    async def _facts(self, citizen_id: int) -> dict[str, Any]:
        async with self.db.sessions() as session:
            citizen = await session.get(Citizen, citizen_id)
            requests = await session.scalar(select(func.count()).select_from(CorrectionRequest).where(
                CorrectionRequest.citizen_id == citizen_id))
            codes = await session.scalar(select(func.count()).select_from(CheckinToken).where(
                CheckinToken.citizen_id == citizen_id))
            reads = await session.scalar(select(func.count()).select_from(AccessEvent).where(
                AccessEvent.citizen_id == citizen_id))
            reports = await session.scalar(select(func.count()).select_from(WardChangeReport).where(
                WardChangeReport.citizen_id == citizen_id, WardChangeReport.status == ReportStatus.OPEN))
        waiting = await pending_values(self.db, citizen_id=citizen_id)
        granted = (await consent_of(self.db, citizen_id)).any_clinic
        return {"_citizen": citizen, "correction_requests": requests, "checkin_codes": codes,
                "reads_logged": reads, "pending": len(waiting), "change_reports": reports,
                "consent": sorted(g.value for g in granted)}


def _plain(value: Any) -> Any:
    if hasattr(value, "code") and callable(value.code):  # a blood group
        return value.code()
    if hasattr(value, "value"):
        return value.value
    return value
