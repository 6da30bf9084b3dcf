"""Journeys declared once: a new one appears everywhere from its own file, and the engine alone
decides who may start one and on whose record it acts."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.flows import registry
from bot.flows.actions import Open, encode
from bot.flows.engine import Conversation
from bot.flows.registry import Requires, Subject
from bot.flows.replies import Input
from bot.handlers.application import register_commands
from core.db import Database
from core.identity import accounts
from core.records.facility import Facility
from core.staff import service as staff_service
from core.staff.model import StaffRole
from tests.telegram_world import TelegramWorld, verify
from tests.test_ussd import choose, sign_up

FLOWS = Path(__file__).parents[1] / "bot" / "flows"

# The whole of a new journey: one file. It only says what it is; the rest of the product finds it.
THROWAWAY = '''
"""A throw-away journey: the ward's vaccination days."""
from bot.flows.registry import Journey, Requires, Subject
from bot.flows.replies import Reply, Step


class VaccinationDaysFlow:
    async def start(self, turn, payload=""):
        return Step((Reply(turn._("Vaccination days: every Tuesday, at your ward's health station.")),))

    async def on_action(self, turn, action):
        return await self.start(turn)


JOURNEY = Journey("vaccination_days", VaccinationDaysFlow(), Requires.CITIZEN, Subject.OWN,
                  commands=("vaccinationdays", "ngaytiem"), describe="Vaccination days of my ward",
                  menu="Vaccination days", order=55)
'''


@pytest.fixture
def throwaway(tmp_path: Path) -> Iterator[registry.Journey]:
    path = tmp_path / "vaccination_days.py"
    path.write_text(THROWAWAY, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("vaccination_days", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    journey = registry.register(module.JOURNEY)  # the one line `bot/flows/journeys.py` would hold
    try:
        yield journey
    finally:
        registry.unregister(journey.name)
        sys.modules.pop("vaccination_days", None)


async def test_a_journey_declared_in_one_file_is_offered_in_help_the_menu_the_command_list_and_on_the_keypad(
        throwaway: registry.Journey, world: TelegramWorld) -> None:
    resident = world.resident()
    user = world.phone()
    await verify(user, resident)

    await user.send("/trogiup")
    help_text = (await user.until(lambda m: "/ngaytiem" in m.text)).text
    assert "/ngaytiem: Vaccination days of my ward" in help_text  # the Vietnamese alias, as /so is

    await user.send("/menu")
    menu = await user.until(lambda m: bool(m.buttons))
    assert "Vaccination days" in menu.labels
    await user.press("Vaccination days")
    assert "every Tuesday" in (await user.until(lambda m: "Tuesday" in m.text)).text
    await user.send("/ngaytiem")  # typed, as the help says
    await user.until(lambda m: "Tuesday" in m.text)

    assert world.application is not None
    await register_commands(world.application)
    bot = world.application.bot
    assert ("ngaytiem", "Vaccination days of my ward") in [
        (c.command, c.description) for c in await bot.get_my_commands()]
    assert "vaccinationdays" in [c.command for c in await bot.get_my_commands(language_code="en")]

    phone = await sign_up(world, resident)
    assert "Tuesday" in await choose(phone, "Vaccination days")


async def test_a_journey_taken_away_is_offered_nowhere(throwaway: registry.Journey,
                                                       world: TelegramWorld) -> None:
    registry.unregister(throwaway.name)
    user = world.phone()
    await verify(user, world.resident())
    await user.send("/ngaytiem")
    unknown = await user.until(lambda m: bool(m.text))
    assert "Tuesday" not in unknown.text
    await user.send("/menu")
    assert "Vaccination days" not in (await user.until(lambda m: bool(m.buttons))).labels


# --- Who may act, and on whose record -------------------------------------------------------------

KINDS = ("stranger", "citizen", "receptionist", "volunteer")
MEETS = {Requires.CITIZEN: {"citizen"}, Requires.RECEPTIONIST: {"receptionist"},
         Requires.VOLUNTEER: {"volunteer"}, Requires.STATION: set(), Requires.ANYONE: set(KINDS),
         Requires.NOT_LINKED: {"stranger"}}


async def _accounts(db: Database, citizen_id: int, ward: str) -> dict[str, str]:
    """One account of each kind: not verified, a linked citizen, a receptionist, a ward volunteer."""
    async with db.sessions() as session:
        facility = await session.scalar(select(Facility.code).order_by(Facility.code).limit(1))
    ids = {kind: f"requires-{kind}" for kind in KINDS}
    for kind, external in ids.items():
        account = await db.write(accounts.open_account, "telegram", external)
        if kind == "citizen":
            await db.write(accounts.link_citizen, account.id, "telegram", citizen_id, None)
        elif kind != "stranger":
            invite = await staff_service.invite(db, StaffRole(kind), name="Case",
                                                ward_code=ward if kind == "volunteer" else None,
                                                facility_code=facility if kind == "receptionist" else None)
            await staff_service.accept(db, invite.code, account.id)
    return ids


async def test_every_journey_on_a_record_refuses_whoever_does_not_meet_it_in_one_voice(
        world: TelegramWorld) -> None:
    resident = world.resident()
    conversation = Conversation(world.db, "telegram")
    ids = await _accounts(world.db, resident.citizen_id, resident.ward_code)
    acting = [j for j in registry.journeys() if j.subject is not Subject.NONE]
    assert {j.requires for j in acting} >= {Requires.CITIZEN, Requires.VOLUNTEER}
    answers: dict[tuple[Requires, str], set[tuple[str, tuple[str, ...]]]] = {}
    for journey in acting:
        for kind in KINDS:
            if kind in MEETS[journey.requires]:
                continue
            # Asked for by its button, and by its command where it has one.
            asked = [Input.of_option(encode(Open(journey.name)))]
            asked += [Input.of_text(f"/{command}") for command in journey.commands]
            for given in asked:
                answer = await conversation.handle(ids[kind], given)
                account = await world.db.read(accounts.find_account, "telegram", ids[kind])
                assert account.state.flow is None, f"{journey.name} started for a {kind}"
                said = "\n".join(r.text for r in answer.replies)
                labels = tuple(o.label for r in answer.replies for row in r.options for o in row)
                assert resident.full_name not in said and resident.personal_id not in said
                answers.setdefault((journey.requires, kind), set()).add((said, labels))
    assert answers
    # One answer per requirement and account, whichever journey was asked for and however.
    for (requires, kind), given in answers.items():
        assert len(given) == 1, (requires, kind, given)
    # A person not verified is asked to verify; a citizen is told the volunteers' work is theirs.
    verify_first = {"Vui lòng xác thực danh tính trước."}
    assert {said for said, _ in answers[(Requires.CITIZEN, "stranger")]} == verify_first
    assert all("tình nguyện viên" in said for said, _ in answers[(Requires.VOLUNTEER, "citizen")])


def test_no_journey_checks_who_the_account_is_itself() -> None:
    """Links and roles are the engine's business (`requires`); a flow reads `turn.subject`."""
    checks = re.compile(r"account\.citizen_id|account\.linked|active_staff|who_is\(|is (not )?StaffRole\."
                        r"|Who\.[A-Z]+ (not )?in\b")
    # The engine and what it consults: who an account is, the PIN rule (a session of a linked
    # account signs in), the menu drawn for that account, and an invite turning it into staff.
    deciding = {"engine.py", "who.py", "pin.py", "menu.py", "staff.py"}
    found = [f"{path.name}:{number}: {line.strip()}" for path in sorted(FLOWS.glob("*.py"))
             if path.name not in deciding
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
             if checks.search(line.split("#", 1)[0])]
    assert not found, "\n".join(found)


def test_no_flow_names_a_platform() -> None:
    """Channels are described by what they can do (ChannelInfo), never by name."""
    named = re.compile(r"telegram|ussd|keypad", re.IGNORECASE)
    found = [f"{path.name}:{number}" for path in sorted(FLOWS.rglob("*.py"))
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
             if named.search(line)]
    assert not found, found


def test_a_journey_file_imports_no_channel() -> None:
    for path in sorted(FLOWS.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
        modules += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names]
        channels = ("bot.handlers", "bot.ussd", "sandbox", "telegram")
        assert not [m for m in modules if m.startswith(channels)], path
