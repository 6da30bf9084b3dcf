"""`/start staff_<code>`: a staff member binds this account with the invite an operator gave them."""

from __future__ import annotations

from bot.flows.menu import menu_reply
from bot.flows.replies import Option, Reply, Step, rows
from bot.flows.turn import Turn
from core.reference.wards import ward_by_code
from core.staff import service
from core.staff.model import StaffRole


class StaffFlow:
    name = "staff"

    async def start(self, turn: Turn, payload: str = "") -> Step:
        staff = await service.accept(turn.db, payload.strip(), turn.account.id) if payload.strip() else None
        if staff is None:
            text = turn._("This invite is not valid: it may have been used, withdrawn or expired. Ask "
                          "your administrator for a new one.")
            return Step((menu_reply(turn, text),))
        return self.home(turn, staff)

    def home(self, turn: Turn, staff: service.Staff) -> Step:
        """What a staff member can do, in the words of their role."""
        if staff.role is StaffRole.RECEPTIONIST:
            text = turn._("You are registered as reception staff of {facility}. To check a person in, "
                          "scan their QR code with your phone's camera, or type /checkin and the 8 "
                          "digits they read out.", facility=staff.facility_name or staff.facility_code)
            return Step((Reply(text, options=rows(Option(turn._("⌨ Type a code"), "checkin"))),))
        ward = ward_by_code(staff.ward_code or "")
        text = turn._("You are registered as a volunteer of {ward}. /worklist shows the residents with "
                      "missing details; /assist helps one of them.",
                      ward=ward.name if ward else staff.ward_code)
        return Step((Reply(text, options=rows(Option(turn._("📋 Residents to help"), "worklist"),
                                              Option(turn._("🔎 Help a resident"), "assist"))),))

    async def on_option(self, turn: Turn, args: list[str]) -> Step:
        return Step((menu_reply(turn),))
