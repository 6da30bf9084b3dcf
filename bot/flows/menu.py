"""The main menu: what a person can do from here, as big buttons drawn from the registry."""

from __future__ import annotations

from bot.flows import registry
from bot.flows.actions import Open, declare
from bot.flows.registry import Journey, Requires, Subject
from bot.flows.replies import Option, Reply, Step, rows
from bot.flows.turn import Turn
from bot.flows.who import Who
from core.families import Capacity, Dependent
from core.reference.wards import ward_by_code
from core.staff.model import StaffRole
from core.staff.service import Staff


def _who(turn: Turn, linked: bool | None) -> frozenset[Who]:
    """The account as the menu should see it: `linked` when a journey just changed the link."""
    if linked is None:
        return turn.who
    kinds = set(turn.who) - {Who.UNLINKED, Who.CITIZEN}
    if linked:
        kinds.add(Who.CITIZEN)
    return frozenset(kinds) or frozenset({Who.UNLINKED})


def menu_options(turn: Turn, *, linked: bool | None = None) -> tuple[tuple[Option, ...], ...]:
    """The menu's big buttons for this account on this channel, one per row."""
    return rows(*(Option(turn.t.gettext(label), Open(j.name))
                  for j in registry.menu_entries(_who(turn, linked), turn.channel)
                  if (label := j.menu_label(turn.channel))))


# `citizen` empty: the account's own book.
OpenBook = declare("whose", "o", "OpenBook", citizen=(int | None, None))


def person_label(turn: Turn, dependent: Dependent) -> str:
    """One line for a dependent: the name a family calls them by and their age."""
    mark = "🧒" if dependent.right.capacity is Capacity.GUARDIAN else "🧓"
    return turn._("{mark} {name}, {age} years old", mark=mark, name=dependent.short_name, age=dependent.age)


def household_options(turn: Turn) -> tuple[tuple[Option, ...], ...]:
    """The menu's lines to switch books: the account's own first, then each dependent; the one
    open now is ticked."""
    if not turn.household:
        return ()
    open_now = turn.acting.citizen_id if turn.acting else None
    own = ("✓ " if open_now is None else "") + turn._("📖 My own book")
    lines = [Option(own, OpenBook(None))]
    for dependent in turn.household:
        tick = "✓ " if dependent.citizen_id == open_now else ""
        lines.append(Option(tick + person_label(turn, dependent), OpenBook(dependent.citizen_id)))
    return tuple((line,) for line in lines)


def menu_reply(turn: Turn, text: str | None = None, *, linked: bool | None = None) -> Reply:
    prompt = text or turn._("What would you like to do?")
    if turn.acting is not None and linked is None:
        # Whose book is open, above everything the menu offers for it.
        prompt = turn._("📂 {name}'s book is open ({age} years old).", name=turn.acting.full_name,
                        age=turn.acting.age) + "\n\n" + prompt
    options = menu_options(turn, linked=linked)
    if linked is None and turn.household:
        options = options + household_options(turn)
    return Reply(prompt, options=options)


def typed(turn: Turn, journey: str) -> str:
    """The command a person of this language types for a journey (`/tiepdon` in Vietnamese)."""
    return registry.typed(journey, turn.t.locale)


def work_account(turn: Turn) -> bool:
    """A staff member's account that holds no book of its own: its help speaks of the work."""
    return turn.staff is not None and Who.CITIZEN not in turn.who


def staff_home(turn: Turn, staff: Staff, before: str | None = None) -> Step:
    """What a staff member can do, in the words of their role, with their menu (`before`: what
    is said first, as "I did not understand that")."""
    if staff.role is StaffRole.RECEPTIONIST:
        text = turn._("You are registered as reception staff of {facility}. To check a person in, "
                      "scan their QR code with your phone's camera, or type {checkin} and the 8 "
                      "digits they read out.", facility=staff.facility_name or staff.facility_code,
                      checkin=typed(turn, "checkin"))
    elif staff.role is StaffRole.VOLUNTEER:
        ward = ward_by_code(staff.ward_code or "")
        text = turn._("You are registered as a volunteer of {ward}. {worklist} shows the residents with "
                      "missing details; {assist} helps one of them; {change} reports one who moved away "
                      "or died.",
                      ward=ward.name if ward else staff.ward_code, worklist=typed(turn, "worklist"),
                      assist=typed(turn, "assist"), change=typed(turn, "change"))
    else:  # station staff and the city's viewers work in the web console
        text = turn._("You are registered as {role}. Your work is in the web console: {desk} sends "
                      "you a sign-in link.", role=turn.t.gettext(staff.role.label).lower(),
                      desk=typed(turn, "desk"))
    return Step((menu_reply(turn, f"{before}\n\n{text}" if before else text),))


class MenuFlow:
    async def start(self, turn: Turn, payload: str = "") -> Step:
        return Step((menu_reply(turn),))

    async def on_action(self, turn: Turn, action: object) -> Step:
        return await self.start(turn)


JOURNEY = Journey("menu", MenuFlow(), Requires.ANYONE, Subject.NONE, commands=("menu",), listed=False)
