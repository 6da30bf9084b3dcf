"""`/worklist`: the residents of a volunteer's ward with details missing, most missing first."""

from __future__ import annotations

from bot.flows.actions import Action, Open, declare
from bot.flows.paging import Page
from bot.flows.registry import Journey, Requires
from bot.flows.replies import Option, Reply, Step
from bot.flows.turn import Turn
from core.i18n import N_
from core.reference.wards import ward_by_code
from core.volunteering.residents import worklist

PER_PAGE = 10


ShowPage = declare("worklist", "p", "ShowPage", page=int)


class WorklistFlow:
    async def start(self, turn: Turn, payload: str = "") -> Step:
        return await self._page(turn, 0)

    async def on_action(self, turn: Turn, chosen: Action) -> Step:
        return await self._page(turn, chosen.page if isinstance(chosen, ShowPage) else 0)

    async def _page(self, turn: Turn, page: int) -> Step:
        assert turn.staff is not None and turn.staff.ward_code is not None  # a volunteer of a ward
        items = await worklist(turn.db, turn.staff.ward_code)
        ward = ward_by_code(turn.staff.ward_code)
        title = turn._("Residents to help: {ward}", ward=ward.name if ward else turn.staff.ward_code)
        if not items:
            return Step((Reply(turn._("Every resident of your ward has complete details."), title=title),))
        shown = Page.of(items, page, PER_PAGE)
        lines = [turn._("{name}, born {year}: {missing} missing", name=i.name, year=i.birth_year,
                        missing=i.missing) for i in shown.items]
        lines.append(turn._("Page {page} of {pages} ({total} residents).", page=shown.page + 1,
                            pages=shown.pages, total=shown.total))
        options = (*shown.navigation(turn, ShowPage), (Option(turn._("🔎 Help a resident"), Open("assist")),))
        return Step((Reply("\n".join(lines), title=title, options=options),))


JOURNEY = Journey("worklist", WorklistFlow(), Requires.VOLUNTEER, commands=("worklist", "danhsach"),
                  describe=N_("Residents of my ward with details missing"), menu=N_("📋 Residents to help"),
                  order=13, small_screens=False, listed=False)
