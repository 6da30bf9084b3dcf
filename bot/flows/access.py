"""`/access`: who viewed my health book, newest first (the person's right to know)."""

from __future__ import annotations

from bot.flows.actions import Open
from bot.flows.registry import Journey, Requires, Subject
from bot.flows.replies import Option, Reply, Step, rows
from bot.flows.turn import Turn
from core.consent.access import latest_access
from core.consent.grants import group_names
from core.families import Capacity, Power
from core.i18n import N_
from core.reference.wards import ward_by_code
from core.staff.model import StaffRole

SHOWN = 20


def _role_label(role: str) -> str:
    """A staff role's name, or a guardian's or proxy's (core.families)."""
    if role in {capacity.value for capacity in Capacity}:
        return Capacity(role).label
    return StaffRole(role).label


class AccessFlow:
    async def start(self, turn: Turn, payload: str = "") -> Step:
        assert turn.subject is not None
        events = await latest_access(turn.db, turn.subject, SHOWN)
        t = turn.t
        if not events:
            text = turn._("Nobody else has viewed your health book.")
        else:
            lines = []
            for event in events:
                role = t.gettext(_role_label(event.reader_role))
                ward = ward_by_code(event.ward_code) if event.ward_code else None
                place = event.facility_name or event.facility_code or (ward.name if ward else "") \
                    or event.reader_name or ""  # a guardian or proxy: their name
                if event.via == "family_update":
                    lines.append(turn._("{time}: {role}, {place}: filled in details",
                                        time=t.datetime(event.at), role=role, place=place))
                    continue
                lines.append(turn._("{time}: {role}, {place}: {groups}", time=t.datetime(event.at), role=role,
                                    place=place, groups=group_names(event.groups, t).lower()))
            text = "\n".join(lines)
        options = [Option(turn._("🏠 Main menu"), Open("menu"))]
        if turn.for_someone is None:  # one's own history: who may help is one tap away
            options.insert(0, Option(turn._("👪 Who may help me"), Open("helpers")))
        return Step((Reply(text, title=turn._("Who viewed my record"), options=rows(*options)),))

    async def on_action(self, turn: Turn, action: object) -> Step:
        return await self.start(turn)


JOURNEY = Journey("access", AccessFlow(), Requires.CITIZEN, Subject.OWN, power=Power.READ,
                  commands=("access", "truycap"),
                  describe=N_("Who viewed my record"), menu=N_("👁 Who viewed my record"), order=60)
