"""`/access`: who viewed my health book, newest first (the person's right to know)."""

from __future__ import annotations

from bot.flows.actions import Open
from bot.flows.registry import Journey, Requires, Subject
from bot.flows.replies import Option, Reply, Step, rows
from bot.flows.turn import Turn
from core.consent.access import latest_access
from core.consent.grants import group_names
from core.i18n import N_
from core.reference.wards import ward_by_code
from core.staff.model import StaffRole

SHOWN = 20


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
                role = t.gettext(StaffRole(event.reader_role).label)
                ward = ward_by_code(event.ward_code) if event.ward_code else None
                place = event.facility_name or event.facility_code or (ward.name if ward else "")
                lines.append(turn._("{time}: {role}, {place}: {groups}", time=t.datetime(event.at), role=role,
                                    place=place, groups=group_names(event.groups, t).lower()))
            text = "\n".join(lines)
        return Step((Reply(text, title=turn._("Who viewed my record"),
                           options=rows(Option(turn._("🏠 Main menu"), Open("menu")))),))

    async def on_action(self, turn: Turn, action: object) -> Step:
        return await self.start(turn)


JOURNEY = Journey("access", AccessFlow(), Requires.CITIZEN, Subject.OWN, commands=("access", "truycap"),
                  describe=N_("Who viewed my record"), menu=N_("👁 Who viewed my record"), order=60)
